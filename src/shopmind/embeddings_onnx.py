"""ONNX Runtime inference for sentence-transformers encoders shaped Transformer → mean pooling → L2 norm.

Why this exists: sentence-transformers' PyTorch path spends most of one short query's encode in
Python module overhead (transformers' attention-mask utilities, per-layer dispatch): on one core
all-MiniLM-L6-v2 took 10–19 ms per query here while its matrix products need about 3 ms. ONNX Runtime
runs the same graph in about 4 ms (``docs/bench/search.md``). No library exports and serves a local
sentence-transformers model without also pulling in a model hub client (``optimum``), so the export
is done here with ``torch.onnx`` from the weights already loaded — nothing is downloaded.

The exported graph computes ``v = normalize(Σ_t mask_t · h_t / Σ_t mask_t)`` over the transformer's
last hidden states ``h`` — exactly the ``Pooling(mean) → Normalize`` modules it replaces. Every export
is checked against the PyTorch encoder on probe sentences (cosine ≥ ``MIN_AGREEMENT``) and discarded
when they disagree; callers then keep the PyTorch path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.model_files import cache_root

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.9999
"""Smallest cosine between ONNX and PyTorch embeddings of the probe sentences that is accepted."""

PROBES = (
    "wireless bluetooth headphones",
    "usb-c charger 65 W for laptops, fast charging",
    "蓝牙耳机 降噪",
    "Where is my order? I paid three days ago and nothing has arrived yet.",
)

_EXPECTED_MODULES = ("Transformer", "Pooling", "Normalize")


def cache_dir() -> Path:
    """Where exported graphs are kept: ``onnx/`` in :func:`shopmind.model_files.cache_root`."""
    return cache_root() / "onnx"


def exportable(model: Any) -> bool:
    """True when ``model`` is a plain Transformer → mean Pooling → Normalize sentence-transformer."""
    names = tuple(type(module).__name__ for module in model)
    if names != _EXPECTED_MODULES:
        return False
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers ≥ 5: one mode string
    if isinstance(mode, str):
        return mode == "mean"
    legacy = ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")
    return bool(getattr(pooling, "pooling_mode_mean_tokens", False)) and not any(
        getattr(pooling, f"pooling_mode_{m}", False) for m in legacy
    )


def _graph_key(model_dir: Path) -> str:
    """Model files' names, sizes and mtimes plus the exporter's versions: a new model or torch re-exports."""
    # package metadata, not ``torch.__version__``: finding a cached graph must not import torch
    h = hashlib.sha256(f"{version('torch')}|{version('transformers')}".encode())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(model_dir)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def export(model: Any, target: Path) -> None:
    """Write ``model``'s transformer + mean pooling + normalisation as an ONNX graph to ``target``."""
    import torch

    class _Pooled(torch.nn.Module):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    wrapped = _Pooled(model[0].auto_model).eval()
    sample = model.tokenizer(list(PROBES[:2]), return_tensors="pt", padding=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    # write beside the target and rename: concurrent processes (test workers, uvicorn workers) may export at once
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        # the TorchScript exporter warns about traced control flow and its own deprecation; the export
        # is checked against PyTorch afterwards (MIN_AGREEMENT), so these are for debugging only
        with torch.inference_mode(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.onnx.export(
                wrapped,
                (sample["input_ids"], sample["attention_mask"]),
                tmp,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-family models
            )
        for w in caught:
            log.debug("ONNX export: %s: %s", w.category.__name__, w.message)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class OnnxSentenceEncoder:
    """Encodes with an exported graph; same output as the sentence-transformers model it came from.

    ``model``: the sentence-transformers model (tokenizer, saving, fine-tuning). Without it
    (:func:`cached_encoder`) texts are tokenized by the model folder's ``tokenizer.json`` with the
    ``tokenizers`` library — the same fast tokenizer sentence-transformers wraps — and the PyTorch
    model is loaded by ``load_model`` only when :attr:`model` is read.
    """

    def __init__(
        self,
        graph: Path,
        model: Any,
        name: str,
        *,
        tokenizer: Any = None,
        max_length: int | None = None,
        load_model: Callable[[], Any] | None = None,
    ) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # follow the process's thread setting (tests and benchmarks pin it) instead of ORT's all-cores default
        opts.intra_op_num_threads = _threads()
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
        self._model = model
        self._load_model = load_model
        self._fast_tokenizer = tokenizer
        self._max_length = int(max_length if max_length is not None else model.max_seq_length)
        self.name = name
        width = self._session.get_outputs()[0].shape[-1]
        self.dim = int(width) if isinstance(width, int) else int(model.get_embedding_dimension() or 0)

    @property
    def model(self) -> Any:
        """The sentence-transformers model behind the graph (loaded on first use without one)."""
        if self._model is None and self._load_model is not None:
            self._model = self._load_model()
        return self._model

    def _tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self._fast_tokenizer is not None:
            encoded = self._fast_tokenizer.encode_batch(texts)
            return {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            }
        batch = self.model.tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
        )
        return {
            "input_ids": batch["input_ids"].astype(np.int64),
            "attention_mask": batch["attention_mask"].astype(np.int64),
        }

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # longest first, as sentence-transformers does, so each batch pads to similar lengths
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._session.run(None, self._tokenize([texts[i] for i in idx]))[0]
        return out


def _threads() -> int:
    """torch's intra-op thread count when torch is loaded (tests pin it), else ``OMP_NUM_THREADS`` or 1 per core."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, int(torch.get_num_threads()))
    return max(1, int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))


def graph_path(model_dir: Path) -> Path:
    """Where the graph of ``model_dir`` is exported (its name + :func:`_graph_key`)."""
    return cache_dir() / f"{Path(model_dir).name}-{_graph_key(Path(model_dir))}.onnx"


def _verified(graph: Path) -> Path:
    return graph.with_suffix(".verified")


def cached_encoder(model_dir: Path, name: str, load_model: Callable[[], Any]) -> OnnxSentenceEncoder | None:
    """The graph already exported and checked for ``model_dir``, opened without PyTorch; else None.

    Importing sentence-transformers and torch takes seconds, most of a one-shot command's start-up;
    a graph that passed the :data:`PROBES` check once (``<graph>.verified``) is opened directly.
    """
    if os.environ.get("SHOPMIND_ONNX", "1") == "0":
        return None
    try:
        graph = graph_path(model_dir)
        if not (graph.is_file() and _verified(graph).is_file()):
            return None
        from tokenizers import Tokenizer

        settings = json.loads((Path(model_dir) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        max_length = int(settings["max_seq_length"])
        special = json.loads((Path(model_dir) / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = special.get("pad_token", "[PAD]")
        pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else str(pad)
        tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        tokenizer.enable_truncation(max_length)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        return OnnxSentenceEncoder(
            graph, None, name, tokenizer=tokenizer, max_length=max_length, load_model=load_model
        )
    except Exception as exc:  # anything unexpected: the full path (load, export if needed, check)
        log.info("cached ONNX graph of %s not usable directly (%s)", name, exc)
        return None


def onnx_encoder(model: Any, model_dir: Path, name: str) -> OnnxSentenceEncoder | None:
    """An ONNX encoder equivalent to ``model`` (exported once into :func:`cache_dir`), or None.

    None when the model is not of the supported shape, the export fails, or
    its embeddings disagree with the PyTorch ones on :data:`PROBES`; the reason is logged.
    """
    if os.environ.get("SHOPMIND_ONNX", "1") == "0":
        return None
    if not exportable(model):
        log.info("embedding model %s is not Transformer → mean pooling → normalize; no ONNX export", name)
        return None
    graph = graph_path(Path(model_dir))
    try:
        if not graph.exists():
            log.info("exporting %s to ONNX once, into %s", name, graph)
            export(model, graph)
            _drop_stale(graph)
        encoder = OnnxSentenceEncoder(graph, model, name)
        reference = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
        agreement = float(np.min(np.sum(encoder.encode(list(PROBES)) * reference, axis=1)))
    except Exception as exc:  # any exporter/runtime failure leaves the PyTorch path, which always works
        log.warning("ONNX export of %s failed (%s); encoding with PyTorch", name, exc)
        return None
    if agreement < MIN_AGREEMENT:
        log.warning("ONNX graph of %s disagrees with PyTorch (cosine %.5f); not used", name, agreement)
        return None
    _verified(graph).write_text(f"{agreement:.6f}\n", encoding="utf-8")  # cached_encoder may open it directly
    return encoder


def _drop_stale(graph: Path) -> None:
    """Remove older exports of the same model directory name (a retrained encoder replaces its graph)."""
    prefix = graph.name.rsplit("-", 1)[0]
    for old in [*graph.parent.glob(f"{prefix}-*.onnx"), *graph.parent.glob(f"{prefix}-*.verified")]:
        if old.stem != graph.stem:
            old.unlink(missing_ok=True)
