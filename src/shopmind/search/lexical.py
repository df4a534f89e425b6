"""Multi-field BM25 keyword retrieval on bm25s, with a live delta for updates.

**Scoring.** One bm25s index per field (Lucene BM25, ``k1=1.2, b=0.75``); a document's score is the
boosted sum over fields

    score(q, d) = Σ_f boost_f · Σ_{t ∈ q} w_t · idf_f(t) · tf_{f,d}(t) / (tf_{f,d}(t) + k1·(1 − b + b·|d_f|/avgdl_f))

— the "per-field BM25, weighted sum" construction (as Elasticsearch ``multi_match`` ``most_fields``)
rather than true BM25F, which would pool term frequencies before saturation. The sum keeps each field's
own idf (a brand name is rare in titles but common in the brand field) and lets bm25s do the heavy
lifting: it stores the per-(term, doc) scores as a CSC matrix, so a query is a handful of column slices
summed with ``np.bincount``. ``w_t`` are query-term weights (1 for the user's words, less for bigram
alternatives and synonyms).

**Field weights at query time.** ``boost_f`` multiplies a field's scores when a query is scored, so
:meth:`LexicalIndex.set_weights` changes the ranking from the next query on without re-indexing.
Weight 0 keeps a field indexed but not searched: its words make no match (the learned ranker still
sees its per-field score). A field the index does not hold is built with :meth:`LexicalIndex.build_field`
(the slow part, off the serving path) and added with :meth:`LexicalIndex.attach_field`.

**Updates without a rebuild.** Added or changed documents go to a small in-memory *delta*; the old
version of a changed/deleted document is masked by a *tombstone*. Delta documents are scored with the
same formula using the main index's document frequencies and average lengths, so their scores are on
the main index's scale. ``compact()`` (and every ``train``) rebuilds one index from everything alive.

**Coverage.** Besides the score, :meth:`LexicalIndex.match` returns how many query *words* (groups of
alternative terms, see :mod:`shopmind.search.analyzers`) each document contains, for AND semantics,
"more words first" ranking and the learned ranker's features.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.catalog import field_text
from shopmind.errors import ArtifactError, ConfigError, DataError
from shopmind.search.analyzers import Analyzer, QueryGroup, Synonyms, flatten_groups

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

FORMAT_VERSION = 1
_CHUNK = 2000  # documents analysed between two progress reports of a field build


def _check_weights(weights: Mapping[str, float], indexed: Iterable[str]) -> dict[str, float]:
    """``weights`` as floats, each a finite number >= 0 (0: indexed, not searched; one at least above 0),
    for the fields in ``indexed`` only; raises :class:`ConfigError`."""
    out = {}
    for name in indexed:
        w = float(weights.get(name, 0.0))
        if not (math.isfinite(w) and w >= 0):
            raise ConfigError("field boosts must be numbers >= 0", value={name: w}, expected="boost >= 0")
        out[name] = w
    if not any(out.values()):
        raise ConfigError("no field is searched", value=out, expected="at least one field boost > 0")
    return out


def import_bm25s() -> Any:
    """bm25s, imported lazily (it is heavy); it sets its own logger to DEBUG on import, so put it back."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@dataclass
class MatchResult:
    """Dense per-document arrays for one query over all rows (main + delta)."""

    score: np.ndarray  # float32 [n_rows] boosted BM25 sum (0 where nothing matched or tombstoned)
    field_scores: dict[str, np.ndarray]  # float32 [n_rows] per field, before boosts
    coverage: np.ndarray  # int16 [n_rows] number of query words (groups) matched
    n_groups: int
    field_coverage: dict[str, np.ndarray] | None = None  # int16 [n_rows] per field, when asked

    @property
    def matched(self) -> np.ndarray:
        return self.coverage > 0


class _FieldIndex:
    """One field: bm25s scores (CSC) for the main rows + a tf table for delta rows."""

    def __init__(self, name: str, k1: float, b: float) -> None:
        self.name, self.k1, self.b = name, k1, b
        self.data = np.zeros(0, np.float32)
        self.indices = np.zeros(0, np.int32)
        self.indptr = np.zeros(1, np.int64)
        self.vocab: dict[str, int] = {}
        self.n_main = 0
        self.avgdl = 1.0
        # delta: term -> list of (row, tf); lengths per delta row
        self.delta_postings: dict[str, list[tuple[int, int]]] = {}

    def build(self, corpus: list[list[str]]) -> None:
        bm25s = import_bm25s()

        self.n_main = len(corpus)
        lengths = np.fromiter((len(d) for d in corpus), dtype=np.float64, count=len(corpus))
        self.avgdl = float(lengths.mean()) if len(corpus) and lengths.sum() > 0 else 1.0
        if not any(corpus):
            self.vocab = {}
            self.indptr = np.zeros(1, np.int64)
            return
        bm = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        bm.index(corpus, show_progress=False)
        self.data = np.asarray(bm.scores["data"], np.float32)
        self.indices = np.asarray(bm.scores["indices"], np.int32)
        self.indptr = np.asarray(bm.scores["indptr"], np.int64)
        self.vocab = dict(bm.vocab_dict)

    def df(self, term: str) -> int:
        tid = self.vocab.get(term)
        return 0 if tid is None else int(self.indptr[tid + 1] - self.indptr[tid])

    def idf(self, term: str) -> float:
        n = max(self.n_main, 1)
        df = self.df(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def add_delta(self, row: int, terms: list[str]) -> None:
        dl = max(len(terms), 1)
        for t, tf in Counter(terms).items():
            self.delta_postings.setdefault(t, []).append((row, tf * 1_000_000 + dl))  # packed

    def remove_delta_rows(self, rows: set[int]) -> None:
        for t in list(self.delta_postings):
            kept = [p for p in self.delta_postings[t] if p[0] not in rows]
            if kept:
                self.delta_postings[t] = kept
            else:
                del self.delta_postings[t]

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, bm25 contributions) of ``term`` in main and delta rows."""
        tid = self.vocab.get(term)
        if tid is not None:
            lo, hi = self.indptr[tid], self.indptr[tid + 1]
            rows, vals = self.indices[lo:hi], self.data[lo:hi]
        else:
            rows, vals = np.zeros(0, np.int32), np.zeros(0, np.float32)
        extra = self.delta_postings.get(term)
        if extra:
            idf = self.idf(term)
            arr = np.asarray(extra, dtype=np.int64)
            tf = (arr[:, 1] // 1_000_000).astype(np.float64)
            dl = (arr[:, 1] % 1_000_000).astype(np.float64)
            tfc = tf / (self.k1 * ((1 - self.b) + self.b * dl / self.avgdl) + tf)
            rows = np.concatenate([rows, arr[:, 0].astype(np.int32)])
            vals = np.concatenate([vals, (idf * tfc).astype(np.float32)])
        return rows, vals

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "data.npy", self.data, allow_pickle=False)
        np.save(path / "indices.npy", self.indices, allow_pickle=False)
        np.save(path / "indptr.npy", self.indptr, allow_pickle=False)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (path / "vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        meta = {"k1": self.k1, "b": self.b, "n_main": self.n_main, "avgdl": self.avgdl}
        (path / "params.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, name: str, path: Path) -> _FieldIndex:
        meta = json.loads((path / "params.json").read_text(encoding="utf-8"))
        f = cls(name, meta["k1"], meta["b"])
        f.n_main, f.avgdl = int(meta["n_main"]), float(meta["avgdl"])
        f.data = np.load(path / "data.npy", allow_pickle=False)
        f.indices = np.load(path / "indices.npy", allow_pickle=False)
        f.indptr = np.load(path / "indptr.npy", allow_pickle=False)
        terms = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        f.vocab = {t: i for i, t in enumerate(terms)}
        return f


class LexicalIndex:
    """Boosted multi-field BM25 over documents (products, help pages, …).

    ``LexicalIndex.build(docs, fields={"title": 3, "body": 1}, id_field="id")`` then
    ``.search(query, k) -> [(doc_id, score), …]`` best first. Documents are dicts; a field may be a
    string, a list (joined) or a dict (``key value`` pairs). Row ``i`` of every dense array is
    ``self.ids[i]``; tombstoned rows never match.
    """

    def __init__(
        self,
        fields: Mapping[str, float],
        *,
        analyzer: Analyzer | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        synonyms: Synonyms | None = None,
    ) -> None:
        if not fields:
            raise ConfigError("a lexical index needs at least one field", value=dict(fields))
        self.fields = _check_weights(fields, fields)
        self.analyzer = analyzer or Analyzer()
        self.k1, self.b = k1, b
        self.id_field = "id"
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.alive = np.zeros(0, dtype=bool)
        self.n_main = 0
        self._fields = {f: _FieldIndex(f, k1, b) for f in self.fields}
        self.delta_docs: dict[str, dict[str, Any]] = {}  # id -> live delta doc
        self._delta_log: list[dict[str, Any]] = []  # every delta row's doc, in row order (saving)
        self.deleted_ids: set[str] = set()
        self.synonyms = synonyms or Synonyms()
        self._syn_map = self.synonyms.mapping()

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        docs: Sequence[Mapping[str, Any]],
        fields: Mapping[str, float],
        id_field: str = "id",
        *,
        analyzer: Analyzer | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        synonyms: Synonyms | None = None,
    ) -> LexicalIndex:
        """Index ``docs`` (each a mapping with ``id_field`` and the ``fields``; missing fields are empty)."""
        idx = cls(fields, analyzer=analyzer, k1=k1, b=b, synonyms=synonyms)
        idx.id_field = id_field
        ids = [idx._doc_id(d, i) for i, d in enumerate(docs)]
        if len(set(ids)) != len(ids):
            dup = next(x for x, c in Counter(ids).items() if c > 1)
            raise DataError("duplicate document id", value=dup, expected="unique ids")
        idx.ids = ids
        idx.row_of = {d: i for i, d in enumerate(ids)}
        idx.n_main = len(ids)
        idx.alive = np.ones(len(ids), dtype=bool)
        for name, fidx in idx._fields.items():
            fidx.build([idx.analyzer.analyze(field_text(d.get(name))) for d in docs])
        log.info("indexed %d documents over fields %s", len(ids), list(fields))
        return idx

    def _doc_id(self, doc: Mapping[str, Any], pos: int) -> str:
        value = doc.get(self.id_field)
        if value is None or str(value) == "":
            raise DataError("document without id", value=pos, expected=f"a non-empty '{self.id_field}'")
        return str(value)

    # ------------------------------------------------------------------ updates
    @property
    def n_rows(self) -> int:
        return len(self.ids)

    def upsert(self, docs: Iterable[Mapping[str, Any]]) -> list[int]:
        """Add or replace documents without rebuilding; returns their new rows."""
        docs = list(docs)
        rows = []
        stale_delta: set[int] = set()
        self.alive = np.concatenate([self.alive, np.zeros(len(docs), dtype=bool)])
        for doc in docs:
            did = self._doc_id(doc, len(self.ids))
            old = self.row_of.get(did)
            if old is not None and self.alive[old]:
                self.alive[old] = False
                if old >= self.n_main:
                    stale_delta.add(old)
            row = len(self.ids)
            self.ids.append(did)
            self.row_of[did] = row
            self.alive[row] = True
            for name, fidx in self._fields.items():
                fidx.add_delta(row, self.analyzer.analyze(field_text(doc.get(name))))
            self.delta_docs[did] = dict(doc)
            self._delta_log.append(dict(doc))
            self.deleted_ids.discard(did)
            rows.append(row)
        if stale_delta:
            for fidx in self._fields.values():
                fidx.remove_delta_rows(stale_delta)
        return rows

    def delete(self, ids: Iterable[str]) -> int:
        """Tombstone documents; returns how many were alive."""
        n = 0
        stale: set[int] = set()
        for did in ids:
            row = self.row_of.get(str(did))
            if row is None or not self.alive[row]:
                continue
            self.alive[row] = False
            self.deleted_ids.add(str(did))
            self.delta_docs.pop(str(did), None)
            if row >= self.n_main:
                stale.add(row)
            n += 1
        if stale:
            for fidx in self._fields.values():
                fidx.remove_delta_rows(stale)
        return n

    @property
    def delta_size(self) -> int:
        return len(self.delta_docs)

    # ------------------------------------------------------------------ field weights
    @property
    def indexed_fields(self) -> list[str]:
        """The fields this index holds (searched or, at weight 0, not)."""
        return list(self._fields)

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """New boosts for the indexed fields, used from the next query on (boosts multiply per-field
        scores at query time: nothing is re-indexed). A field left out gets 0: indexed, not searched."""
        unknown = sorted(set(weights) - set(self._fields))
        if unknown:
            raise ConfigError(
                "weights for fields this index does not hold", value=unknown, expected=", ".join(self._fields)
            )
        # one assignment: a query running now keeps the mapping it started with
        self.fields = _check_weights({f: float(weights.get(f, 0.0)) for f in self._fields}, self._fields)

    def build_field(
        self, name: str, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> _FieldIndex:
        """A new field's index over the main rows (``texts[i]``: row ``i``'s text, ``len == n_main``),
        to :meth:`attach_field` later; the index is not changed. ``progress(rows analysed)`` per chunk."""
        if len(texts) != self.n_main:
            raise DataError("one text per main row", value=len(texts), expected=str(self.n_main))
        corpus: list[list[str]] = []
        for lo in range(0, len(texts), _CHUNK):
            corpus.extend(self.analyzer.analyze(t) for t in texts[lo : lo + _CHUNK])
            if progress is not None:
                progress(len(corpus))
        fidx = _FieldIndex(name, self.k1, self.b)
        fidx.build(corpus)
        return fidx

    def attach_field(self, fidx: _FieldIndex, delta: Mapping[int, str], weight: float) -> None:
        """Add a field built by :meth:`build_field`, with the texts of the live delta rows (``row ->
        text``, rows ≥ ``n_main``); searched with boost ``weight`` from the next query on. The caller
        keeps upserts out while this runs (the delta must be the one of this moment)."""
        for row, text in delta.items():
            if row >= self.n_main and self.alive[row]:
                fidx.add_delta(row, self.analyzer.analyze(text))
        self._fields = {**self._fields, fidx.name: fidx}
        self.fields = _check_weights({**self.fields, fidx.name: float(weight)}, self._fields)

    # ------------------------------------------------------------------ scoring
    def set_synonyms(self, synonyms: Synonyms) -> None:
        self.synonyms = synonyms
        self._syn_map = synonyms.mapping()

    def groups(self, query: str) -> list[QueryGroup]:
        return self.analyzer.query_groups(query, self._syn_map, self.has_term)

    def has_term(self, term: str) -> bool:
        """Whether any field holds ``term`` (main or delta rows): the analyzer's head back-off asks."""
        return any(term in f.vocab or term in f.delta_postings for f in self._fields.values())

    def vocabulary(self) -> set[str]:
        """Every indexed term (all fields, main + delta)."""
        out: set[str] = set()
        for fidx in self._fields.values():
            out.update(fidx.vocab)
            out.update(fidx.delta_postings)
        return out

    def match(self, groups: Sequence[QueryGroup], *, per_field: bool = False) -> MatchResult:
        """Scores and word coverage of every row for the analysed query ``groups``.

        ``per_field`` also returns per-field scores and matched-word counts (features of the learned
        ranker). The work is done over ``U``, the rows holding any query term (found by marking
        posting rows in a boolean array, not by sorting them), and scattered into the dense arrays
        once: per field a ``bincount`` over positions in ``U`` (the same float operations, in the
        same order, as over all rows), then the boosted float32 sum in field order.
        """
        n = self.n_rows
        terms = flatten_groups(groups)
        weights, fields = self.fields, self._fields  # one consistent pair while weights change
        # (field, term) -> rows, contributions
        post: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for name, fidx in fields.items():
            for t in terms:
                rows, vals = fidx.postings(t)
                if len(rows):
                    post[(name, t)] = (rows, vals)
        hit = np.zeros(n, bool)
        for rows, _ in post.values():
            hit[rows] = True
        if not self.alive.all():
            hit &= self.alive  # tombstoned rows never match
        union = np.flatnonzero(hit)
        pos = np.full(n, len(union), np.int64)  # rows outside U (tombstones) go to a dropped slot
        pos[union] = np.arange(len(union))
        m = len(union) + 1
        at = {key: pos[rows] for key, (rows, _) in post.items()}
        field_u: dict[str, np.ndarray] = {}
        total_u = np.zeros(m, np.float32)
        for name in fields:
            got = [(key, w) for t, w in terms.items() if (key := (name, t)) in post]
            if not got:
                continue
            fs = np.bincount(
                np.concatenate([at[key] for key, _ in got]),
                weights=np.concatenate([post[key][1] * np.float32(w) for key, w in got]),
                minlength=m,
            ).astype(np.float32)
            field_u[name] = fs
            total_u += np.float32(weights.get(name, 0.0)) * fs

        def dense(values: np.ndarray, dtype: Any) -> np.ndarray:
            out = np.zeros(n, dtype)
            out[union] = values[:-1]
            return out

        def covered(keys: Iterable[tuple[str, str]]) -> np.ndarray:
            c = np.zeros(m, np.int16)
            mark = np.zeros(m, bool)
            for g in groups:
                mark[:] = False
                for key in keys:
                    if key[1] in g.term_set:
                        mark[at[key]] = True
                c += mark
            return c

        field_scores: dict[str, np.ndarray] = {}
        fcov: dict[str, np.ndarray] | None = None
        if per_field:  # every indexed field, searched or not: the learned ranker's features
            zero = np.zeros(m, np.float32)
            field_scores = {f: dense(field_u.get(f, zero), np.float32) for f in fields}
            fcov = {f: dense(covered([k for k in post if k[0] == f]), np.int16) for f in fields}
        # a word found only in fields of weight 0 is not a match (those fields are not searched)
        searched = [k for k in post if weights.get(k[0], 0.0) > 0]
        return MatchResult(
            dense(total_u, np.float32), field_scores, dense(covered(searched), np.int16), len(groups), fcov
        )

    def search(self, query: str, k: int = 10, *, require_all: bool = False) -> list[tuple[str, float]]:
        """Top ``k`` documents for ``query`` as ``(id, score)``, best first.

        Documents need at least one query word (``require_all``: every word); more matched words rank
        first, then the boosted BM25 score.
        """
        groups = self.groups(query)
        if not groups or k <= 0:
            return []
        m = self.match(groups)
        need = len(groups) if require_all else 1
        cand = np.flatnonzero(m.coverage >= need)
        if not len(cand):
            return []
        order = np.lexsort((-m.score[cand], -m.coverage[cand]))[:k]
        return [(self.ids[i], float(m.score[i])) for i in cand[order]]

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """Write ``manifest.json``, ``ids.json``, ``alive.npy``, the delta docs and one folder per field."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, fidx in self._fields.items():
            fidx.save(path / f"field_{list(self.fields).index(name)}")
        (path / "ids.json").write_text(
            json.dumps(self.ids[: self.n_main], ensure_ascii=False), encoding="utf-8"
        )
        # every row (main + delta, stale delta versions included) keeps its number across save/load,
        # so row-aligned data (vectors, catalog) stays aligned
        np.save(path / "alive.npy", self.alive, allow_pickle=False)
        (path / "delta.json").write_text(
            json.dumps(self._delta_log, ensure_ascii=False, default=str), encoding="utf-8"
        )
        manifest = {
            "format": FORMAT_VERSION,
            "fields": self.fields,
            "id_field": self.id_field,
            "k1": self.k1,
            "b": self.b,
            "synonyms": self.synonyms.to_dict(),
            "n_main": self.n_main,
            "analyzer": self.analyzer.to_dict(),
        }
        (path / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path, analyzer: Analyzer | None = None) -> LexicalIndex:
        path = Path(path)
        mf = path / "manifest.json"
        if not mf.exists():
            raise ArtifactError("lexical index manifest missing", value=str(mf))
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise ArtifactError(
                "lexical index format mismatch", value=manifest.get("format"), expected=str(FORMAT_VERSION)
            )
        idx = cls(
            manifest["fields"],
            analyzer=analyzer or Analyzer.from_dict(manifest.get("analyzer")),
            k1=manifest["k1"],
            b=manifest["b"],
            synonyms=Synonyms.from_dict(manifest.get("synonyms")),
        )
        idx.id_field = manifest["id_field"]
        for i, name in enumerate(idx.fields):
            idx._fields[name] = _FieldIndex.load(name, path / f"field_{i}")
        idx.ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        idx.n_main = len(idx.ids)
        idx.row_of = {d: i for i, d in enumerate(idx.ids)}
        alive = np.load(path / "alive.npy", allow_pickle=False).astype(bool)
        idx.alive = np.ones(idx.n_main, dtype=bool)
        delta = json.loads((path / "delta.json").read_text(encoding="utf-8"))
        if delta:
            idx.upsert(delta)
        if len(alive) != idx.n_rows:
            raise ArtifactError(
                "alive mask does not match the rows", value=len(alive), expected=str(idx.n_rows)
            )
        idx.alive = alive
        dead_rows = {i for i in range(idx.n_main, idx.n_rows) if not alive[i]}
        if dead_rows:
            for fidx in idx._fields.values():
                fidx.remove_delta_rows(dead_rows)
        live = {idx.ids[i] for i in range(idx.n_rows) if alive[i]}
        idx.delta_docs = {k: v for k, v in idx.delta_docs.items() if k in live}
        idx.deleted_ids = {d for d in idx.row_of if d not in live}
        return idx
