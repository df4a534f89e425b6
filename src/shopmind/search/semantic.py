"""Semantic retrieval: sentence embeddings + exact dot product or a usearch HNSW index.

Documents and queries are embedded with :func:`shopmind.embeddings.get_encoder` (default: the
packaged all-MiniLM-L6-v2, 384-d, L2-normalised), so cosine similarity is the dot product.

* Below ``ann_threshold`` rows (default 10 000) search is exact: one mat-vec ``V·q``. It is memory
  bound (20k × 384 float32 = 30 MB per query: 7.5 ms of CPU measured on the shared machine), hence the
  low threshold.
* Above it a usearch HNSW index (inner product, f32; connectivity 16, expansion 64) returns the
  top-N; similarities of other rows are computed on demand from the stored vectors.

**Same ranking on every CPU.** float32 BLAS and usearch's SIMD kernels sum a dot product in an order
that depends on the instruction set (OpenBLAS Haswell vs SkylakeX, SimSIMD ``haswell`` vs ``skylake``),
and NumPy's ``argpartition``/``argsort`` leave equal keys in an order that depends on its SIMD dispatch
(AVX-512 or AVX2). So the similarities returned are recomputed in float64 and rounded once to float32
(:func:`exact_similarities`), and the top ``n`` are ordered by ``(−similarity, row)`` with ties at the
cut going to the lower row (:func:`top_n`): duplicate products, whose vectors are equal, keep one order
wherever the search runs.

Rows follow the lexical index (row ``i`` = the same document); updates append rows, tombstones are
applied by the caller through the ``alive`` mask. Vectors are saved as ``vectors.npy``; the HNSW
graph in usearch's own file format (``hnsw.usearch``), never pickle.

**Chinese queries with the English model**: MiniLM's WordPiece vocabulary covers CJK characters one
by one, but the model was trained on English pairs, so a Chinese query's vector lands close to any
Chinese text and carries little meaning; the tests pin this (a Chinese query's nearest neighbours
are Chinese titles, but not reliably the right one). Chinese relevance comes from the lexical side
(jieba + bigrams); plug a multilingual model through the encoder spec for semantic Chinese search.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.embeddings import Encoder, get_encoder

log = logging.getLogger(__name__)

ANN_THRESHOLD = 10_000
# ANN search with a filter that passes few rows: the graph walk must fetch ``want`` ≈ n / share rows;
# exact search over the passing rows is cheaper while they are fewer than EXACT_PER_WANT × want.
# Measured on 200k random 384-d vectors, one core: HNSW ≈ 20 µs per fetched row (want 279: ~6 ms;
# brand filter, 5 % pass, want 5,280: ~60 ms); exact ≈ 0.3 µs per passing row (gather + dot).
EXACT_PER_WANT = 50
SIM_MARGIN = 1e-4
"""Candidates whose float32 similarity is within this of the ``n``-th best are re-scored exactly. A
float32 dot product of unit vectors errs by at most ``d · 2⁻²⁴`` (2.3e-5 at d = 384) whatever the
kernel, so no row that belongs in the top ``n`` is left out."""


def exact_similarities(vectors: np.ndarray, qv: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``vectors[rows] · qv`` accumulated in float64, rounded once to float32.

    Products of float32 numbers are exact in float64 and the float64 sum errs by ~1e-14, far below
    float32's spacing, so the result does not depend on the BLAS kernel or the CPU's vector width
    (float32 BLAS differs in the last bit between kernels).
    """
    v = vectors if rows is None else vectors[rows]
    return (v.astype(np.float64) @ np.asarray(qv, np.float64)).astype(np.float32)


def top_n(rows: np.ndarray, sims: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best ``(rows, sims)`` ordered by ``(−sim, row)``: ties go to the lower row, on any CPU."""
    order = np.lexsort((rows, -sims))[:n]
    return rows[order], sims[order]


CACHE_MAX_BYTES = 1 << 30
"""Default bound of one encoder's vector cache on disk (1 GiB ≈ 690k MiniLM vectors)."""
CACHE_MAX_SHARDS = 16
"""Shards kept before they are merged into one (each training that encodes something adds one)."""
_DIGEST = 32  # sha256 digest size in bytes


class VectorCache:
    """Sentence vectors on disk keyed by ``(encoder name, sha256 of the exact text)``.

    Layout: ``<folder>/<encoder name>-<sha256 of it>/shard-<id>.npz``, each shard holding ``keys``
    (``n × 32`` bytes: the texts' sha256 digests) and ``vectors`` (``n × d`` float32); ``.npz`` only,
    never pickle. A lookup reads the encoder's shards, so retraining an unchanged catalogue encodes
    nothing and a changed title encodes one text.

    Safe under concurrent trainings: a shard is never modified; new vectors go to a temporary file
    renamed into place (``os.replace``), so a reader sees a whole shard or none, and a shard that
    vanished (merged by another process) or does not read is skipped, its texts encoded again.
    More than :data:`CACHE_MAX_SHARDS` shards are merged into one; past ``max_bytes`` the least
    recently used shards (file mtime, refreshed on every hit) are removed.
    """

    def __init__(self, folder: Path, encoder_name: str, *, max_bytes: int = CACHE_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError(f"embedding cache max_bytes must be positive, got {max_bytes}")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder_name)[:60]
        key = hashlib.sha256(encoder_name.encode("utf-8")).hexdigest()[:12]
        self.folder = Path(folder) / f"{safe}-{key}"
        self.max_bytes = int(max_bytes)

    def shards(self) -> list[Path]:
        """Shard files, most recently used first."""
        stamped = []
        for p in self.folder.glob("shard-*.npz"):
            try:
                stamped.append((p.stat().st_mtime_ns, p))
            except OSError:  # removed meanwhile
                continue
        return [p for _, p in sorted(stamped, reverse=True)]

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as z:
                keys, vecs = np.asarray(z["keys"], np.uint8), np.asarray(z["vectors"], np.float32)
        except FileNotFoundError:  # merged away by a concurrent training
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("embedding cache shard %s does not read (%s); removed", path, exc)
            path.unlink(missing_ok=True)
            return None
        if keys.ndim != 2 or keys.shape[1] != _DIGEST or vecs.ndim != 2 or len(vecs) != len(keys):
            log.warning(
                "embedding cache shard %s: keys %s, vectors %s; removed", path, keys.shape, vecs.shape
            )
            path.unlink(missing_ok=True)
            return None
        return keys, vecs

    def _write(self, keys: np.ndarray, vecs: np.ndarray) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"shard-{hashlib.sha256(keys.tobytes()).hexdigest()[:24]}.npz"
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=keys, vectors=vecs)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def encode(
        self,
        encoder: Encoder,
        texts: list[str],
        *,
        batch_size: int = 128,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """``encoder.encode(texts)``, calling the encoder only for texts whose vectors are not cached.

        ``progress(done, len(texts))``: texts with a vector so far (the cached ones at once, then after
        each chunk of :data:`PROGRESS_CHUNK` batches encoded)."""
        digests = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        wanted = set(digests)
        found: dict[bytes, np.ndarray] = {}
        loaded: list[tuple[Path, np.ndarray, np.ndarray]] = []
        for path in self.shards():
            got = self._read(path)
            if got is None:
                continue
            keys, vecs = got
            if loaded and vecs.shape[1] != loaded[0][2].shape[1]:
                continue  # another model under the same name: the most recent shards win
            loaded.append((path, keys, vecs))
            rows = [(k, r) for r, k in enumerate(map(bytes, keys)) if k in wanted and k not in found]
            found.update((k, vecs[r]) for k, r in rows)
            if rows:
                os.utime(path)  # recently used: kept when the cache is trimmed
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        if missing:
            where = {d: i for i, d in reversed(list(enumerate(digests)))}
            new = _encode_in_chunks(
                encoder,
                [texts[where[d]] for d in missing],
                batch_size,
                progress,
                done=len(texts) - len(missing),
                total=len(texts),
            )
            if found and new.shape[1] != next(iter(found.values())).shape[0]:
                # the model behind this name changed its dimension: the cached vectors are unusable
                log.warning("embedding cache %s holds vectors of another size; cleared", self.folder)
                for path, _, _ in loaded:
                    path.unlink(missing_ok=True)
                loaded, found = [], {}
                return self.encode(encoder, texts, batch_size=batch_size, progress=progress)
            self._write(np.frombuffer(b"".join(missing), np.uint8).reshape(-1, _DIGEST), new)
            found.update(zip(missing, new, strict=True))
        log.info(
            "embeddings of %d texts: %d from the cache, %d encoded",
            len(texts),
            len(texts) - len(missing),
            len(missing),
        )
        if progress is not None:
            progress(len(texts), len(texts))
        self._tidy()
        if not digests:
            return np.asarray(encoder.encode([], batch_size=batch_size), np.float32)
        return np.stack([found[d] for d in digests])

    def _tidy(self) -> None:
        """Merge the shards when there are too many; drop the least recently used past ``max_bytes``."""
        shards = self.shards()
        if len(shards) > CACHE_MAX_SHARDS:
            parts = [got for got in map(self._read, shards) if got is not None]
            dim = parts[0][1].shape[1] if parts else 0
            parts = [p for p in parts if p[1].shape[1] == dim]
            if parts:
                keys = np.concatenate([k for k, _ in parts])
                vecs = np.concatenate([v for _, v in parts])
                # first occurrence = most recently used shard; keep as many rows as the budget allows
                _, first = np.unique(keys.view(np.dtype((np.void, _DIGEST))).ravel(), return_index=True)
                keep = np.sort(first)[: max(1, self.max_bytes // (dim * 4 + _DIGEST))]
                merged = self._write(keys[keep], vecs[keep])
                for path in shards:
                    if path != merged:
                        path.unlink(missing_ok=True)
            shards = self.shards()
        total = 0
        for path in shards:
            try:
                size = path.stat().st_size
            except OSError:
                continue
            total += size
            if total > self.max_bytes and path != shards[0]:
                path.unlink(missing_ok=True)


PROGRESS_CHUNK = 8
"""Encoder batches per progress report (the encoder is called once per chunk of this many batches)."""


def _encode_in_chunks(
    encoder: Encoder,
    texts: list[str],
    batch_size: int,
    progress: Callable[[int, int], None] | None,
    *,
    done: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """``encoder.encode(texts)``; with ``progress``, in chunks of ``PROGRESS_CHUNK`` batches, reporting
    ``progress(done + texts encoded, total)`` after each (the vectors are the same: the encoder
    batches within a call)."""
    total = len(texts) + done if total is None else total
    if progress is None or not texts:
        return np.asarray(encoder.encode(texts, batch_size=batch_size), np.float32)
    progress(done, total)
    step = max(1, batch_size * PROGRESS_CHUNK)
    parts = []
    for start in range(0, len(texts), step):
        parts.append(
            np.asarray(encoder.encode(texts[start : start + step], batch_size=batch_size), np.float32)
        )
        progress(done + min(start + step, len(texts)), total)
    return np.concatenate(parts)


def encode_cached(
    encoder: Encoder,
    texts: list[str],
    cache_dir: Path | None,
    *,
    batch_size: int = 128,
    max_bytes: int = CACHE_MAX_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``encoder.encode(texts)``; with ``cache_dir`` through a :class:`VectorCache` there (per text).

    ``progress(done, len(texts))``: texts with a vector so far (see :meth:`VectorCache.encode`)."""
    if cache_dir is None:
        return _encode_in_chunks(encoder, texts, batch_size, progress)
    return VectorCache(Path(cache_dir), encoder.name, max_bytes=max_bytes).encode(
        encoder, texts, batch_size=batch_size, progress=progress
    )


class SemanticIndex:
    """Row-aligned document vectors with exact or ANN top-N search."""

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        encoder_spec: str | None = None,
        encoder: Encoder | None = None,
        ann_threshold: int = ANN_THRESHOLD,
        query_cache: int = 1024,
    ) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.encoder_spec = encoder_spec
        self._encoder = encoder
        self.ann_threshold = ann_threshold
        self._ann: Any = None
        self._ann_rows = 0  # rows covered by the ANN graph; later rows are searched exactly
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache
        self._buffer: np.ndarray | None = None  # room for appended rows (``vectors`` is a view of it)

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(self.encoder_spec)
        return self._encoder

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    @classmethod
    def build(
        cls,
        texts: list[str],
        *,
        encoder_spec: str | None = None,
        encoder: Encoder | None = None,
        ann_threshold: int = ANN_THRESHOLD,
        batch_size: int = 128,
        cache_dir: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SemanticIndex:
        """Embed ``texts``; with ``cache_dir`` only texts not embedded before by this model are encoded
        (:class:`VectorCache`); ``progress(done, len(texts))`` as texts get their vectors."""
        enc = encoder or get_encoder(encoder_spec)
        vecs = encode_cached(enc, texts, cache_dir, batch_size=batch_size, progress=progress)
        idx = cls(vecs, encoder_spec=encoder_spec, encoder=enc, ann_threshold=ann_threshold)
        idx._maybe_build_ann()
        return idx

    def _maybe_build_ann(self) -> None:
        if len(self.vectors) < self.ann_threshold:
            self._ann = None
            self._ann_rows = 0
            return
        from usearch.index import Index

        ann = Index(ndim=self.dim, metric="ip", dtype="f32", connectivity=16, expansion_search=64)
        ann.add(np.arange(len(self.vectors), dtype=np.uint64), self.vectors, threads=1)
        self._ann, self._ann_rows = ann, len(self.vectors)

    def embed_query(self, query: str) -> np.ndarray:
        """Query vector, LRU-cached (shop queries repeat heavily)."""
        got = self._cache.get(query)
        if got is not None:
            self._cache.move_to_end(query)
            return got
        v = self.encoder.encode([query])[0].astype(np.float32)
        self._cache[query] = v
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return v

    def append(self, texts: list[str]) -> None:
        """Embed and add rows (incremental update); they are searched exactly until the next build."""
        if not texts:
            return
        vecs = np.asarray(self.encoder.encode(texts), np.float32)
        if not len(self.vectors):
            self.vectors = vecs
            return
        n, m = len(self.vectors), len(vecs)
        # grow a buffer geometrically: appending one product must not copy every vector (300 MB at 200k)
        buf = self._buffer
        if buf is None or len(buf) < n + m or self.vectors.base is not buf:
            buf = np.empty((max(int((n + m) * 1.25), n + 64), self.dim), np.float32)
            buf[:n] = self.vectors
            self._buffer = buf
        buf[n : n + m] = vecs
        self.vectors = buf[: n + m]

    def similarities(self, qv: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of ``qv`` to all rows (or to ``rows``), the same on every CPU
        (:func:`exact_similarities`)."""
        return exact_similarities(self.vectors, qv, rows)

    def _exact_top(self, rows: np.ndarray | None, qv: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force top ``n`` of ``rows`` (None: all): a float32 mat-vec short-lists, exact scores decide."""
        sims = self.vectors @ qv if rows is None else self.vectors[rows] @ qv
        if rows is None:
            rows = np.arange(len(sims))
        if len(rows) > n:
            cut = np.partition(sims, len(sims) - n)[len(sims) - n]  # the n-th largest (a value: no tie order)
            rows = rows[sims >= cut - SIM_MARGIN]
        return top_n(rows, exact_similarities(self.vectors, qv, rows), n)

    def top(self, qv: np.ndarray, n: int, alive: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, similarities)`` of the ``n`` nearest live rows, best first."""
        total = len(self.vectors)
        if total == 0 or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        n_pass = total if alive is None else int(np.count_nonzero(alive))
        # ANN: over-fetch by the share of rows the filter drops (+25 % and 16 for the graph's misses)
        want = min(math.ceil(n * total / max(n_pass, 1) * 1.25) + 16, self._ann_rows)
        if self._ann is not None and alive is not None and n_pass <= EXACT_PER_WANT * want:
            # a selective filter: exact search over the rows that pass beats a deep graph walk
            return self._exact_top(np.flatnonzero(alive), qv, n)
        if self._ann is None:
            return self._exact_top(None if alive is None else np.flatnonzero(alive), qv, n)
        m = self._ann.search(qv, want, threads=1)
        rows = np.asarray(m.keys, dtype=np.int64)
        if total > self._ann_rows:  # delta rows: exact
            rows = np.concatenate([rows, np.arange(self._ann_rows, total)])
        if alive is not None:
            rows = rows[alive[rows]]
        # usearch's distances carry its SIMD kernel's rounding: re-score the few candidates exactly
        return top_n(rows, exact_similarities(self.vectors, qv, rows), n)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "vectors.npy", self.vectors, allow_pickle=False)
        if self._ann is not None:
            self._ann.save(str(path / "hnsw.usearch"))

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        encoder_spec: str | None = None,
        encoder: Encoder | None = None,
        ann_threshold: int = ANN_THRESHOLD,
    ) -> SemanticIndex:
        vecs = np.load(path / "vectors.npy", allow_pickle=False)
        idx = cls(vecs, encoder_spec=encoder_spec, encoder=encoder, ann_threshold=ann_threshold)
        hnsw = path / "hnsw.usearch"
        if hnsw.exists():
            from usearch.index import Index

            ann = Index(ndim=idx.dim, metric="ip", dtype="f32", connectivity=16, expansion_search=64)
            ann.load(str(hnsw))
            idx._ann, idx._ann_rows = ann, len(ann)
        return idx


def item_text(row: Any) -> str:
    """The text embedded for semantic search: title, then brand and leaf category when not in it."""
    title = str(row.get("title") or "")
    extra = []
    brand = row.get("brand")
    if isinstance(brand, str) and brand and brand.lower() not in title.lower():
        extra.append(brand)
    cat = row.get("category")
    if isinstance(cat, (list, tuple)) and len(cat) and str(cat[-1]).lower() not in title.lower():
        extra.append(str(cat[-1]))
    return " · ".join([title, *extra]) if extra else title
