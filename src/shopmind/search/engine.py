"""Product search without a store: ``ProductSearch.build(items_frame)`` → ``.search(query, …)``.

Pipeline of one query (``mode``: ``bm25`` | ``semantic`` | ``hybrid`` | ``ltr``):

1. **Typo correction** of words the index does not know (:mod:`shopmind.search.typo`).
2. **Keyword match** (:mod:`shopmind.search.lexical`): boosted multi-field BM25 + word coverage.
   Documents with *every* query word rank first, then those with fewer words (Meilisearch's
   "words" rule). If no document has every word the result says ``fallback="or"``.
3. **Semantic match** (:mod:`shopmind.search.semantic`): the nearest ``candidates`` products.
4. **Fusion** (:mod:`shopmind.search.fusion`): RRF (default) or weighted normalised scores.
5. **Reranking** (``ltr``): LightGBM lambdarank over the top ``rerank_n`` (:mod:`shopmind.search.ltr`).
6. **Personalisation**: relevance scores (scaled to [0, 1]) plus ``personal_weight`` × the user's
   affinity to the product's brand/category.
7. **Merchandising rules** per query: hide, boost, bury, pin at a position.
8. **Filters** (applied before ranking), **facets** over everything that matched (disjunctive: a
   facet with a selection is counted without its own filter, see :meth:`ProductSearch.facets`),
   **sorting**, **pagination** and **highlighting** of the page.

Matches, totals and facets are boolean row masks and ``bincount``s over integer codes precomputed per
row, so a query costs a few vector passes over the catalogue whatever share of it matches.

Zero results: keyword modes fall back from AND to OR (step 2), then to semantic results
(``fallback="semantic"``) when an encoder is configured.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopmind.errors import ArtifactError, ConfigError
from shopmind.search.analyzers import QueryGroup, Synonyms, flatten_groups
from shopmind.search.fusion import rrf, weighted
from shopmind.search.highlight import highlight, snippet
from shopmind.search.lexical import LexicalIndex, MatchResult, field_text
from shopmind.search.ltr import FEATURES, Reranker
from shopmind.search.semantic import SemanticIndex, item_text
from shopmind.search.suggest import Suggester
from shopmind.search.typo import TypoCorrector
from shopmind.text import normalize

log = logging.getLogger(__name__)

MODES = ("bm25", "semantic", "hybrid", "ltr")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popularity", "rating")
SORT_ALIASES = {
    "price": "price_asc",
    "-price": "price_desc",
    "price-desc": "price_desc",
    "price-asc": "price_asc",
}
PRICE_EDGES = (10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SearchConfig:
    """Index and ranking settings (saved with the artifacts)."""

    fields: dict[str, float] = field(
        default_factory=lambda: {
            "title": 3.0,
            "brand": 2.0,
            "category": 2.0,
            "attributes": 1.0,
            "description": 0.5,
        }
    )
    k1: float = 1.2
    b: float = 0.75
    semantic: bool = True
    encoder: str | None = None  # spec for shopmind.embeddings.get_encoder
    ann_threshold: int = 10_000  # exact search below, usearch HNSW above
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: float = 60.0
    alpha: float = 0.5  # keyword weight in weighted fusion
    candidates: int = 200  # per retriever, before fusion
    min_similarity: float = 0.35  # semantic-only results need at least this cosine
    rerank_n: int = 100
    personal_weight: float = 0.3
    facet_attributes: int = 6  # attribute keys offered as facets
    typo: bool = True

    def __post_init__(self) -> None:
        if self.fusion not in ("rrf", "weighted"):
            raise ConfigError("unknown fusion", value=self.fusion, expected="rrf or weighted")
        if not 0 <= self.alpha <= 1:
            raise ConfigError("alpha must be in [0, 1]", value=self.alpha)
        if self.candidates < 1 or self.rerank_n < 1:
            raise ConfigError("candidates and rerank_n must be >= 1", value=(self.candidates, self.rerank_n))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ConfigError(
                "unknown search settings", value=sorted(unknown), expected=", ".join(sorted(known))
            )
        return cls(**dict(d))


@dataclass
class Hit:
    item_id: str
    score: float
    title: str
    highlight: dict[str, str]
    price: float | None
    brand: str | None
    category: list[str]
    in_stock: bool
    position: int
    pinned: bool = False


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    facets: dict[str, Any]
    corrected_query: str | None
    fallback: str | None  # None | "or" | "semantic"
    search_id: str | None
    took_ms: float
    mode: str
    offset: int = 0
    k: int = 20

    @property
    def ids(self) -> list[str]:
        return [h.item_id for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Rule:
    """A merchandising rule: for a query, hide / boost / bury products and pin one at a position."""

    query: str
    match: str = "exact"  # exact | contains
    pin: list[dict[str, Any]] = field(default_factory=list)  # [{"id": "sku1", "position": 1}]
    boost: list[str] = field(default_factory=list)
    bury: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.match not in ("exact", "contains"):
            raise ConfigError("unknown rule match", value=self.match, expected="exact or contains")
        for p in self.pin:
            if "id" not in p or int(p.get("position", 0)) < 1:
                raise ConfigError("a pin needs an id and a position >= 1", value=p)

    def applies(self, query: str) -> bool:
        q, r = " ".join(normalize(query).split()), " ".join(normalize(self.query).split())
        return q == r if self.match == "exact" else r in q


def parse_rules(rules: Iterable[Mapping[str, Any]] | None) -> list[Rule]:
    out = []
    for r in rules or ():
        unknown = set(r) - {"query", "match", "pin", "boost", "bury", "hide"}
        if unknown or "query" not in r:
            raise ConfigError(
                "bad merchandising rule", value=dict(r), expected="query, match, pin, boost, bury, hide"
            )
        out.append(Rule(**{k: v for k, v in r.items()}))
    return out


@dataclass
class _Query:
    """Everything known about one query's candidates (also the LTR feature source)."""

    text: str
    groups: list[QueryGroup]
    match: MatchResult | None
    mask: np.ndarray
    rows: np.ndarray  # ranked candidate rows
    scores: np.ndarray  # their base scores
    lex_rank: dict[int, int]
    sem_rank: dict[int, int]
    sims: dict[int, float]
    qv: np.ndarray | None
    corrected: str | None
    fallback: str | None
    total_mask: np.ndarray  # bool [n_rows]: every row that counts as a match (for total and facets)
    mode: str
    filters: _Filters
    extra_rows: np.ndarray  # matches that are not keyword matches (semantic candidates)
    keyword_matches: bool  # keyword matches count as matches (not in semantic mode / fallback)

    def relaxed_masks(self) -> dict[str, np.ndarray]:
        """Per selected facet, the match mask under every filter except that facet's own.

        Keyword matches are re-counted exactly; semantic candidates are the ones retrieved under all
        filters (a relaxed nearest-neighbour search per facet would cost one more ANN query each).
        """
        out = {}
        for facet in self.filters.parts:
            m = self.filters.mask_without(facet)
            if self.keyword_matches and self.match is not None:
                m &= self.match.coverage > 0
            else:
                m[:] = False
            if len(self.extra_rows):
                m[self.extra_rows] = True
            out[facet] = m
        return out


@dataclass
class _Filters:
    """A query's filters as row masks: ``base`` (alive + non-facet filters) and one per facet."""

    base: np.ndarray
    parts: dict[str, np.ndarray]  # "category" | "brand" | "price" | "attr:<key>" -> bool [n_rows]

    @property
    def mask(self) -> np.ndarray:
        return self.mask_without(None)

    def mask_without(self, facet: str | None) -> np.ndarray:
        m = self.base.copy()
        for name, part in self.parts.items():
            if name != facet:
                m &= part
        return m


def _epoch(v: Any) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.nan
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError):
        return math.nan
    if ts is pd.NaT:
        return math.nan
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return float(ts.timestamp())


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


class _Catalog:
    """Row-aligned product metadata for filters, facets, sorting and display."""

    COLS = ("title", "description", "brand", "category", "attributes")

    def __init__(self) -> None:
        self.title: list[str] = []
        self.description: list[str] = []
        self.brand: list[str | None] = []
        self.category: list[list[str]] = []
        self.attributes: list[dict[str, Any]] = []
        self.price = np.zeros(0, np.float64)
        self.stock = np.zeros(0, np.float64)  # nan = unknown (counts as in stock)
        self.created = np.zeros(0, np.float64)
        self.popularity = np.zeros(0, np.float64)
        self.rating = np.zeros(0, np.float64)
        self.ctr = np.zeros(0, np.float64)
        self.brand_names: list[str] = []
        self.brand_code = np.zeros(0, np.int32)
        self.cat_paths: list[str] = []  # "A > B > C" as given
        self.cat_code = np.zeros(0, np.int32)
        self.facet_keys: list[str] = []
        self.attr_values: dict[str, list[str]] = {}
        self.attr_code: dict[str, np.ndarray] = {}
        # derived per row (not saved): price bucket of the facet (-1 = no price), in stock
        self.price_bucket = np.zeros(0, np.int8)
        self.in_stock = np.zeros(0, bool)
        self._lookups: dict[str, Any] = {}  # normalised names / category prefixes, by catalogue size

    def __len__(self) -> int:
        return len(self.title)

    def _code(self, names: list[str], value: str | None, index: dict[str, int]) -> int:
        if not value:
            return -1
        got = index.get(value)
        if got is None:
            got = len(names)
            names.append(value)
            index[value] = got
        return got

    def append(self, records: Sequence[Mapping[str, Any]], stats: Mapping[str, Mapping[str, float]]) -> None:
        b_index = {n: i for i, n in enumerate(self.brand_names)}
        c_index = {n: i for i, n in enumerate(self.cat_paths)}
        a_index = {k: {n: i for i, n in enumerate(v)} for k, v in self.attr_values.items()}
        prices, stocks, created, pops, ratings, ctrs, bcodes, ccodes = [], [], [], [], [], [], [], []
        acodes: dict[str, list[int]] = {k: [] for k in self.facet_keys}
        for r in records:
            iid = str(r["id"])
            self.title.append(str(r.get("title") or ""))
            self.description.append(field_text(r.get("description")))
            brand = r.get("brand")
            brand = str(brand) if isinstance(brand, str) and brand.strip() else None
            self.brand.append(brand)
            cat = r.get("category")
            cat = [str(c) for c in cat] if isinstance(cat, (list, tuple, np.ndarray)) else []
            self.category.append(cat)
            attrs = r.get("attributes")
            attrs = dict(attrs) if isinstance(attrs, Mapping) else {}
            self.attributes.append(attrs)
            prices.append(_num(r.get("price")))
            st = r.get("stock")
            stocks.append(_num(st) if st is not None else math.nan)
            created.append(_epoch(r.get("created_at")))
            pops.append(float(stats.get("popularity", {}).get(iid, 0.0)))
            ratings.append(float(stats.get("rating", {}).get(iid, math.nan)))
            ctrs.append(float(stats.get("ctr", {}).get(iid, 0.0)))
            bcodes.append(self._code(self.brand_names, brand, b_index))
            ccodes.append(self._code(self.cat_paths, " > ".join(c.strip() for c in cat), c_index))
            for k in self.facet_keys:
                v = attrs.get(k)
                acodes[k].append(
                    self._code(self.attr_values[k], str(v) if v not in (None, "") else None, a_index[k])
                )
        self.price = np.concatenate([self.price, np.asarray(prices, np.float64)])
        self.stock = np.concatenate([self.stock, np.asarray(stocks, np.float64)])
        self.created = np.concatenate([self.created, np.asarray(created, np.float64)])
        self.popularity = np.concatenate([self.popularity, np.asarray(pops, np.float64)])
        self.rating = np.concatenate([self.rating, np.asarray(ratings, np.float64)])
        self.ctr = np.concatenate([self.ctr, np.asarray(ctrs, np.float64)])
        self.brand_code = np.concatenate([self.brand_code, np.asarray(bcodes, np.int32)])
        self.cat_code = np.concatenate([self.cat_code, np.asarray(ccodes, np.int32)])
        for k in self.facet_keys:
            self.attr_code[k] = np.concatenate([self.attr_code[k], np.asarray(acodes[k], np.int32)])
        self._derive(len(self.price_bucket))

    def _derive(self, start: int = 0) -> None:
        """Per-row price buckets and stock flags of rows ``start:`` (the rest are unchanged)."""
        price, stock = self.price[start:], self.stock[start:]
        with np.errstate(invalid="ignore"):
            bucket = np.searchsorted(np.asarray(PRICE_EDGES), price, side="right")
        bucket = np.where(np.isnan(price), -1, bucket).astype(np.int8)
        self.price_bucket = np.concatenate([self.price_bucket[:start], bucket])
        self.in_stock = np.concatenate([self.in_stock[:start], np.isnan(stock) | (stock > 0)])

    def brand_keys(self) -> list[str]:
        """Brand names normalised for filtering (cached until the catalogue grows)."""
        got = self._lookups.get("brand")
        if got is None or len(got) != len(self.brand_names):
            got = self._lookups["brand"] = [normalize(b).strip() for b in self.brand_names]
        return got

    def path_keys(self) -> list[str]:
        """Category paths normalised for prefix filtering (cached until the catalogue grows)."""
        got = self._lookups.get("path")
        if got is None or len(got) != len(self.cat_paths):
            got = self._lookups["path"] = [normalize(p) for p in self.cat_paths]
        return got

    def category_levels(self) -> tuple[list[str], Any]:
        """Every path prefix ("A", "A > B", …) and a sparse ``[n_paths, n_prefixes]`` 0/1 matrix."""
        got = self._lookups.get("levels")
        if got is None or got[1].shape[0] != len(self.cat_paths):
            index: dict[str, int] = {}
            rows, cols = [], []
            for code, path in enumerate(self.cat_paths):
                parts = path.split(" > ")
                for depth in range(1, len(parts) + 1):
                    rows.append(code)
                    cols.append(index.setdefault(" > ".join(parts[:depth]), len(index)))
            matrix = sp.csr_matrix(
                (np.ones(len(rows), np.float64), (rows, cols)), shape=(len(self.cat_paths), len(index))
            )
            got = self._lookups["levels"] = (list(index), matrix)
        return got

    def choose_facet_keys(self, records: Sequence[Mapping[str, Any]], n: int) -> None:
        """Attribute keys with the widest coverage and 2–50 distinct values become facets."""
        values: dict[str, set[str]] = {}
        cover: Counter[str] = Counter()
        for r in records:
            attrs = r.get("attributes")
            if isinstance(attrs, Mapping):
                for k, v in attrs.items():
                    if isinstance(v, (str, int, bool)) and v != "":
                        cover[k] += 1
                        s = values.setdefault(k, set())
                        if len(s) <= 51:
                            s.add(str(v))
        keys = [k for k, _ in cover.most_common() if 2 <= len(values[k]) <= 50][:n]
        self.facet_keys = keys
        self.attr_values = {k: [] for k in keys}
        self.attr_code = {k: np.zeros(0, np.int32) for k in keys}

    # ----------------------------------------------------------------- persistence
    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "price": self.price, "stock": self.stock, "created": self.created, "popularity": self.popularity,
            "rating": self.rating, "ctr": self.ctr, "brand_code": self.brand_code, "cat_code": self.cat_code,
        }  # fmt: skip
        arrays.update({f"attr_{i}": self.attr_code[k] for i, k in enumerate(self.facet_keys)})
        np.savez(path / "catalog.npz", allow_pickle=False, **arrays)
        meta = {
            "title": self.title, "description": self.description, "brand": self.brand,
            "category": self.category, "attributes": self.attributes, "brand_names": self.brand_names,
            "cat_paths": self.cat_paths, "facet_keys": self.facet_keys, "attr_values": self.attr_values,
        }  # fmt: skip
        (path / "catalog.json").write_text(
            json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> _Catalog:
        c = cls()
        meta = json.loads((path / "catalog.json").read_text(encoding="utf-8"))
        for k in (
            "title",
            "description",
            "brand",
            "category",
            "attributes",
            "brand_names",
            "cat_paths",
            "facet_keys",
            "attr_values",
        ):
            setattr(c, k, meta[k])
        with np.load(path / "catalog.npz", allow_pickle=False) as z:
            for k in ("price", "stock", "created", "popularity", "rating", "ctr", "brand_code", "cat_code"):
                setattr(c, k, z[k])
            c.attr_code = {k: z[f"attr_{i}"] for i, k in enumerate(c.facet_keys)}
        c._derive()
        return c


def _records(items: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(items, pd.DataFrame):
        frame = items.reset_index() if "id" not in items.columns else items
        recs = frame.to_dict("records")
    else:
        recs = [dict(getattr(r, "model_dump", lambda r=r: r)()) for r in items]
    for r in recs:
        r["id"] = str(r["id"])
    return recs


def _lexical_doc(r: Mapping[str, Any]) -> dict[str, Any]:
    attrs = r.get("attributes")
    attrs = attrs if isinstance(attrs, Mapping) else {}
    return {
        "id": r["id"],
        "title": r.get("title") or "",
        "brand": r.get("brand") or "",
        "category": r.get("category") if isinstance(r.get("category"), (list, tuple, np.ndarray)) else [],
        # attribute values only: keys ("product_colour") would match every product that has the key
        # numbers ("23000.0") would only add noise terms; lists (EANs) are kept
        "attributes": [
            v
            for v in attrs.values()
            if isinstance(v, str) or (isinstance(v, list) and v and isinstance(v[0], str))
        ],
        "description": r.get("description") or "",
    }


class ProductSearch:
    """The search engine over one catalogue (see the module docstring)."""

    def __init__(
        self,
        config: SearchConfig,
        lexical: LexicalIndex,
        catalog: _Catalog,
        semantic: SemanticIndex | None,
        typo: TypoCorrector,
        suggester: Suggester,
        rules: list[Rule] | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.config = config
        self.lexical = lexical
        self.catalog = catalog
        self.semantic = semantic
        self.typo = typo
        self.suggester = suggester
        self.rules = rules or []
        self.reranker = reranker
        self._vocab: set[str] | None = None

    # ----------------------------------------------------------------- build / io
    @classmethod
    def build(
        cls,
        items: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        config: SearchConfig | None = None,
        popularity: Mapping[str, float] | None = None,
        rating: Mapping[str, float] | None = None,
        ctr: Mapping[str, float] | None = None,
        queries: Counter[str] | None = None,
        synonyms: Synonyms | None = None,
        rules: Iterable[Mapping[str, Any]] | None = None,
        encoder: Any = None,
        cache_dir: Path | None = None,
    ) -> ProductSearch:
        """Index a catalogue (a frame or dicts with ``Item`` fields)."""
        config = config or SearchConfig()
        recs = _records(items)
        started = time.perf_counter()
        lexical = LexicalIndex.build(
            [_lexical_doc(r) for r in recs], config.fields, "id", k1=config.k1, b=config.b, synonyms=synonyms
        )
        catalog = _Catalog()
        catalog.choose_facet_keys(recs, config.facet_attributes)
        stats = {"popularity": dict(popularity or {}), "rating": dict(rating or {}), "ctr": dict(ctr or {})}
        catalog.append(recs, stats)
        semantic = None
        if config.semantic:
            semantic = SemanticIndex.build(
                [item_text(r) for r in recs],
                encoder_spec=config.encoder,
                encoder=encoder,
                ann_threshold=config.ann_threshold,
                cache_dir=cache_dir,
            )
        typo = TypoCorrector(TypoCorrector.words_of(_typo_texts(recs)))
        suggester = Suggester.build(
            catalog.title, catalog.popularity.tolist(), catalog.brand, catalog.category, queries
        )
        log.info("search index of %d products built in %.2fs", len(recs), time.perf_counter() - started)
        return cls(config, lexical, catalog, semantic, typo, suggester, parse_rules(rules))

    def save(self, path: Path) -> None:
        """Artifacts: lexical/ (bm25s CSC arrays), semantic/ (npy + usearch), catalog.npz/json, JSON rest."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexical.save(path / "lexical")
        self.catalog.save(path)
        if self.semantic is not None:
            self.semantic.save(path / "semantic")
        (path / "typo.json").write_text(json.dumps(self.typo.freq, ensure_ascii=False), encoding="utf-8")
        self.suggester.save(path / "suggest.json")
        (path / "rules.json").write_text(
            json.dumps([asdict(r) for r in self.rules], ensure_ascii=False), encoding="utf-8"
        )
        if self.reranker is not None:
            self.reranker.save(path / "ranker")
        manifest = {"format": FORMAT_VERSION, "config": self.config.to_dict(), "n_items": len(self.catalog)}
        (path / "search.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, *, encoder: Any = None) -> ProductSearch:
        path = Path(path)
        mf = path / "search.json"
        if not mf.exists():
            raise ArtifactError("search artifacts missing", value=str(mf), expected="run `shopmind train`")
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise ArtifactError(
                "search artifact format mismatch", value=manifest.get("format"), expected=str(FORMAT_VERSION)
            )
        config = SearchConfig.from_dict(manifest["config"])
        lexical = LexicalIndex.load(path / "lexical")
        catalog = _Catalog.load(path)
        semantic = None
        if (path / "semantic" / "vectors.npy").exists():
            semantic = SemanticIndex.load(
                path / "semantic",
                encoder_spec=config.encoder,
                encoder=encoder,
                ann_threshold=config.ann_threshold,
            )
        typo = TypoCorrector(json.loads((path / "typo.json").read_text(encoding="utf-8")))
        suggester = Suggester.load(path / "suggest.json")
        rules = parse_rules(json.loads((path / "rules.json").read_text(encoding="utf-8")))
        reranker = Reranker.load(path / "ranker") if (path / "ranker" / "ranker.json").exists() else None
        if len(catalog) != lexical.n_rows or (
            semantic is not None and len(semantic.vectors) != lexical.n_rows
        ):
            raise ArtifactError(
                "catalog, vectors and index disagree on the number of rows",
                value=(len(catalog), None if semantic is None else len(semantic.vectors), lexical.n_rows),
            )
        return cls(config, lexical, catalog, semantic, typo, suggester, rules, reranker)

    # ----------------------------------------------------------------- updates
    def upsert(self, items: pd.DataFrame | Sequence[Mapping[str, Any]]) -> int:
        """Add or replace products now (delta index + tombstones); returns how many."""
        recs = _records(items)
        if not recs:
            return 0
        self.lexical.upsert([_lexical_doc(r) for r in recs])
        self.catalog.append(recs, {})
        if self.semantic is not None:
            self.semantic.append([item_text(r) for r in recs])
        self.typo.add(_typo_texts(recs))
        self.suggester.add_titles([str(r.get("title") or "") for r in recs])
        self._vocab = None
        return len(recs)

    def delete(self, ids: Iterable[str]) -> int:
        n = self.lexical.delete([str(i) for i in ids])
        return n

    def set_rules(self, rules: Iterable[Mapping[str, Any]]) -> None:
        self.rules = parse_rules(rules)

    def set_synonyms(self, synonyms: Synonyms) -> None:
        self.lexical.set_synonyms(synonyms)

    @property
    def n_items(self) -> int:
        return int(self.lexical.alive.sum())

    # ----------------------------------------------------------------- filters
    def filter_mask(self, filters: Mapping[str, Any] | None) -> np.ndarray:
        """Rows that pass ``filters`` (and are not deleted); see :meth:`filter_parts` for the keys."""
        return self.filter_parts(filters).mask

    def filter_parts(self, filters: Mapping[str, Any] | None) -> _Filters:
        """``filters`` as row masks: one per facet they select, the rest (and tombstones) in ``base``.

        Keys: ``category`` (a path prefix ``"A > B"`` or ``["A", "B"]`` inside a list; a list of
        prefixes = any of them), ``brand`` (one or a list = any), ``price`` (``"10..50"``,
        ``"..50"``, ``(lo, hi)`` or ``{"min", "max"}``), ``in_stock`` (bool), ``attributes.<key>`` /
        ``attr.<key>`` / any other key: attribute equals (one or a list = any). Different keys AND.
        Category, brand, price and the facet attributes are facets (their masks are kept apart for
        disjunctive facet counts); ``in_stock`` and other attributes only filter.
        """
        c = self.catalog
        base = self.lexical.alive.copy()
        parts: dict[str, np.ndarray] = {}

        def add(name: str, m: np.ndarray) -> None:
            parts[name] = parts[name] & m if name in parts else m

        for key, value in (filters or {}).items():
            if value is None or value == "":
                continue
            if key == "category":
                add("category", _lookup(c.cat_code, self._category_codes(value), len(c.cat_paths)))
            elif key == "brand":
                wanted = {normalize(v).strip() for v in _as_list(value)}
                ok = [i for i, b in enumerate(c.brand_keys()) if b in wanted]
                add("brand", _lookup(c.brand_code, ok, len(c.brand_names)))
            elif key == "price":
                lo, hi = _price_range(value)
                with np.errstate(invalid="ignore"):
                    add("price", (c.price >= lo) & (c.price <= hi))
            elif key == "in_stock":
                want = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
                base &= c.in_stock if want else ~c.in_stock
            else:
                attr = key.removeprefix("attributes.").removeprefix("attr.")
                wanted_s = {str(v) for v in _as_list(value)}
                if attr in c.attr_code:
                    ok = [i for i, v in enumerate(c.attr_values[attr]) if v in wanted_s]
                    add(f"attr:{attr}", _lookup(c.attr_code[attr], ok, len(c.attr_values[attr])))
                else:  # not a facet: no codes, a scan of the attribute dicts
                    base &= np.fromiter(
                        (str(a.get(attr)) in wanted_s if attr in a else False for a in c.attributes),
                        dtype=bool,
                        count=len(c.attributes),
                    )
        return _Filters(base, parts)

    def _category_codes(self, value: Any) -> list[int]:
        """Codes of the category paths under any of the prefixes in ``value``."""
        prefixes = [v.split(">") if isinstance(v, str) else list(v) for v in _as_list(value)]
        keys = [" > ".join(normalize(str(p)).strip() for p in parts) for parts in prefixes]
        return [
            i
            for i, p in enumerate(self.catalog.path_keys())
            if any(p == k or p.startswith(k + " > ") for k in keys)
        ]

    # ----------------------------------------------------------------- retrieval
    def _vocabulary(self) -> set[str]:
        if self._vocab is None:
            self._vocab = self.lexical.vocabulary()
        return self._vocab

    def _correct(self, query: str) -> str | None:
        if not self.config.typo:
            return None
        vocab = self._vocabulary()
        fixes: dict[str, str] = {}
        _, cand = self.typo.correct(query)
        for wrong, right in cand.items():
            if any(t not in vocab for t in self.lexical.analyzer.analyze(wrong)):
                fixes[wrong] = right
        if not fixes:
            return None
        text = normalize(query)
        return re.sub(r"(?<![a-z0-9])[a-z]+(?![a-z0-9])", lambda m: fixes.get(m.group(0), m.group(0)), text)

    def _retrieve(self, query: str, mode: str, filters: Mapping[str, Any] | None, need: int = 0) -> _Query:
        """Candidates of ``query``; at least ``need`` keyword matches are ranked (the rest only counted)."""
        cfg = self.config
        if mode not in MODES:
            raise ConfigError("unknown search mode", value=mode, expected=" | ".join(MODES))
        if mode in ("semantic", "hybrid", "ltr") and self.semantic is None:
            if mode == "semantic":
                raise ConfigError(
                    "semantic search needs an encoder", value=mode, expected="config.semantic = true"
                )
            mode = "bm25"
        if mode == "ltr" and self.reranker is None:
            log.warning("no reranker trained; using hybrid ranking")
            mode = "hybrid"
        fparts = self.filter_parts(filters)
        mask = fparts.mask
        corrected = self._correct(query) if mode != "semantic" else None
        text = corrected or query
        groups = self.lexical.groups(text)
        fallback = None
        m = None
        lex_rows = np.zeros(0, np.int64)
        lex_scores = np.zeros(0, np.float64)
        total_lex = np.zeros(0, np.int64)
        matched = np.zeros(len(mask), bool)
        if mode != "semantic" and groups:
            m = self.lexical.match(groups, per_field=(mode == "ltr"))
            matched = (m.coverage > 0) & mask
            total_lex = np.flatnonzero(matched)
            if len(total_lex) and not np.any(m.coverage[total_lex] == len(groups)):
                fallback = "or"
            # coverage first, then score: one sortable key (scores are < 1e4)
            key = m.coverage[total_lex].astype(np.float64) * 1e4 + m.score[total_lex]
            lex_rows, lex_scores = _top(total_lex, key, max(cfg.candidates, need))
            lex_scores = m.score[lex_rows].astype(np.float64)
        qv = None
        sem_rows = np.zeros(0, np.int64)
        sem_sims = np.zeros(0, np.float32)
        if self.semantic is not None and (
            mode in ("semantic", "hybrid", "ltr") or (mode == "bm25" and not len(total_lex))
        ):
            qv = self.semantic.embed_query(text)
            sem_rows, sem_sims = self.semantic.top(qv, cfg.candidates, alive=mask)
            if mode == "bm25":
                fallback = "semantic"
                mode_used = "semantic"
            else:
                mode_used = mode
        else:
            mode_used = mode
        lex_rank = {int(r): i + 1 for i, r in enumerate(lex_rows[: cfg.candidates].tolist())}
        sem_rank = {int(r): i + 1 for i, r in enumerate(sem_rows.tolist())}
        sims = {int(r): float(s) for r, s in zip(sem_rows.tolist(), sem_sims.tolist(), strict=True)}
        extra = np.zeros(0, np.int64)
        if mode_used == "bm25":
            rows, scores = lex_rows, lex_scores
        elif mode_used == "semantic":
            keep = sem_sims >= cfg.min_similarity if fallback == "semantic" else np.ones(len(sem_rows), bool)
            rows, scores = sem_rows[keep], sem_sims[keep].astype(np.float64)
            matched = np.zeros(len(mask), bool)  # semantic mode: its candidates are the matches
            extra = rows
        else:
            if not len(total_lex) and groups:
                fallback = "semantic"
            if cfg.fusion == "rrf":
                rows, scores = rrf([lex_rows[: cfg.candidates], sem_rows], k=cfg.rrf_k)
            else:
                rows, scores = weighted(
                    lex_rows[: cfg.candidates],
                    lex_scores[: cfg.candidates],
                    sem_rows,
                    sem_sims,
                    alpha=cfg.alpha,
                )
            # semantic-only candidates must be reasonably close, or every query returns `candidates` rows
            in_lex = np.isin(rows, lex_rows[: cfg.candidates])
            keep = in_lex | (_lookup_values(sem_rows, sem_sims, rows) >= cfg.min_similarity)
            rows, scores = rows[keep], scores[keep]
            extra = rows[~in_lex[keep]]
            # lexical matches beyond the fused window follow in keyword order
            tail = lex_rows[cfg.candidates :]
            if len(tail):
                floor = float(scores.min()) if len(scores) else 1.0
                rows = np.concatenate([rows, tail])
                scores = np.concatenate([scores, floor * np.linspace(0.999, 0.5, len(tail))])
        total = matched
        if len(extra):
            total = matched.copy()
            total[extra] = True
        return _Query(
            text, groups, m, mask, np.asarray(rows, np.int64), np.asarray(scores, np.float64), lex_rank,
            sem_rank, sims, qv, corrected, fallback, total, mode_used, fparts, np.asarray(extra, np.int64),
            mode_used != "semantic",
        )  # fmt: skip

    # ----------------------------------------------------------------- features
    def features(self, q: _Query, rows: np.ndarray, affinity: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix ``[len(rows), len(FEATURES)]`` for the learned ranker (see ``ltr``)."""
        rows = np.asarray(rows, np.int64)
        n = len(rows)
        X = np.zeros((n, len(FEATURES)), np.float32)
        if not n:
            return X
        c = self.catalog
        m = q.match
        if m is None and q.groups:
            m = self.lexical.match(q.groups, per_field=True)
        if m is not None and m.field_coverage is None:
            m = self.lexical.match(q.groups, per_field=True)
        ng = max(len(q.groups), 1)
        col = {f: i for i, f in enumerate(FEATURES)}
        if m is not None:
            for f in ("title", "brand", "category", "attributes", "description"):
                if f in m.field_scores:
                    X[:, col[f"bm25_{f}"]] = m.field_scores[f][rows]
            X[:, col["bm25_total"]] = m.score[rows]
            X[:, col["coverage"]] = m.coverage[rows] / ng
            if m.field_coverage and "title" in m.field_coverage:
                X[:, col["title_coverage"]] = m.field_coverage["title"][rows] / ng
        qn = " ".join(normalize(q.text).split())
        for i, r in enumerate(rows.tolist()):
            title = " ".join(normalize(c.title[r]).split())
            X[i, col["phrase_in_title"]] = float(bool(qn) and qn in title)
            X[i, col["title_prefix"]] = float(bool(qn) and title.startswith(qn))
            b = c.brand[r]
            X[i, col["brand_in_query"]] = float(bool(b) and normalize(b).strip() in qn)
            X[i, col["lex_rank_log"]] = math.log2(1 + q.lex_rank.get(r, 1000))
            X[i, col["sem_rank_log"]] = math.log2(1 + q.sem_rank.get(r, 1000))
            X[i, col["title_terms"]] = len(title.split())
        if self.semantic is not None:
            if q.qv is None:
                q.qv = self.semantic.embed_query(q.text)
            X[:, col["cosine"]] = self.semantic.similarities(q.qv, rows)
        X[:, col["popularity_log"]] = np.log1p(c.popularity[rows])
        X[:, col["ctr"]] = c.ctr[rows]
        price = c.price[rows]
        X[:, col["price_log"]] = np.where(np.isnan(price), -1.0, np.log1p(np.nan_to_num(price)))
        stock = c.stock[rows]
        X[:, col["in_stock"]] = (np.isnan(stock) | (stock > 0)).astype(np.float32)
        X[:, col["rating"]] = np.nan_to_num(c.rating[rows], nan=0.0)
        if affinity is not None:
            X[:, col["affinity"]] = affinity[rows]
        X[:, col["query_words"]] = len(q.groups)
        return X

    def affinity_vector(self, affinity: Mapping[str, float] | None) -> np.ndarray | None:
        """Per-row affinity in [0, 1] from ``{"brand:Sony": w, "category:Audio": w}`` (max over matches)."""
        if not affinity:
            return None
        c = self.catalog
        brand_w: dict[str, float] = {}
        cat_w: dict[str, float] = {}
        for key, w in affinity.items():
            kind, _, name = key.partition(":")
            target = brand_w if kind == "brand" else cat_w if kind == "category" else None
            if target is None or not name:
                raise ConfigError("affinity keys are 'brand:<name>' or 'category:<name>'", value=key)
            target[normalize(name).strip()] = max(float(w), target.get(normalize(name).strip(), 0.0))
        top = max([*brand_w.values(), *cat_w.values(), 1e-9])
        by_brand = np.array([brand_w.get(normalize(b).strip(), 0.0) for b in c.brand_names] + [0.0])
        by_cat = np.array(
            [
                max((cat_w.get(normalize(p).strip(), 0.0) for p in path.split(" > ")), default=0.0)
                for path in c.cat_paths
            ]
            + [0.0]
        )
        vec = np.maximum(by_brand[c.brand_code], by_cat[c.cat_code]) / top
        return vec.astype(np.float64)

    # ----------------------------------------------------------------- search
    def search(
        self,
        query: str,
        *,
        k: int = 20,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        sort: str = "relevance",
        affinity: Mapping[str, float] | None = None,
        mode: str = "hybrid",
        facets: bool = True,
        highlight_hits: bool = True,
    ) -> SearchResult:
        """One page of results for ``query`` (see the module docstring for the pipeline)."""
        started = time.perf_counter()
        if k < 0 or offset < 0:
            raise ConfigError("k and offset must be >= 0", value=(k, offset))
        sort = SORT_ALIASES.get(sort, sort)
        if sort not in SORTS:
            raise ConfigError("unknown sort", value=sort, expected=" | ".join(SORTS))
        q = self._retrieve(query, mode, filters, need=offset + k)
        rows, scores = q.rows, q.scores
        aff = self.affinity_vector(affinity)
        if q.mode == "ltr" and self.reranker is not None and len(rows):
            n = min(self.config.rerank_n, len(rows))
            head = rows[:n]
            pred = self.reranker.predict(self.features(q, head, aff))
            order = np.argsort(-pred, kind="stable")
            lo = float(pred.min()) if len(pred) else 0.0
            tail_scores = lo - 1.0 - np.arange(len(rows) - n) * 1e-6
            rows = np.concatenate([head[order], rows[n:]])
            scores = np.concatenate([pred[order], tail_scores])
        if aff is not None and len(rows) and self.config.personal_weight > 0:
            s = scores - scores.min()
            s = s / s.max() if s.max() > 0 else np.ones_like(s)
            scores = s + self.config.personal_weight * aff[rows]
            order = np.argsort(-scores, kind="stable")
            rows, scores = rows[order], scores[order]
        pinned: set[int] = set()
        rows, scores, pinned, extra_total, hidden = self._apply_rules(query, rows, scores)
        match = q.total_mask
        if extra_total:  # pinned products that did not match
            match = match.copy()
            match[rows] = True
        if sort != "relevance":
            # every match takes part, not only the ranked window; ties keep relevance order
            rest_mask = match.copy()
            rest_mask[rows] = False
            rest_mask[hidden] = False
            rest = np.flatnonzero(rest_mask)
            rows = np.concatenate([rows, rest]).astype(np.int64)
            scores = np.concatenate([scores, np.zeros(len(rest))])
            rows, scores = self._sort(rows, scores, sort, offset + k)
        total = int(np.count_nonzero(match))
        page = rows[offset : offset + k]
        page_scores = scores[offset : offset + k]
        terms = set(flatten_groups(q.groups))
        hits = []
        c = self.catalog
        for i, (r, s) in enumerate(zip(page.tolist(), page_scores.tolist(), strict=True)):
            hl: dict[str, str] = {}
            if highlight_hits:
                hl["title"] = highlight(c.title[r], terms, self.lexical.analyzer)
                if c.description[r]:
                    hl["description"] = snippet(c.description[r], terms, self.lexical.analyzer)
            price = c.price[r]
            stock = c.stock[r]
            hits.append(
                Hit(
                    item_id=self.lexical.ids[r],
                    score=round(float(s), 6),
                    title=c.title[r],
                    highlight=hl,
                    price=None if math.isnan(price) else float(price),
                    brand=c.brand[r],
                    category=list(c.category[r]),
                    in_stock=bool(math.isnan(stock) or stock > 0),
                    position=offset + i + 1,
                    pinned=r in pinned,
                )
            )
        result = SearchResult(
            query=query,
            hits=hits,
            total=total,
            facets=self.facets(match, q.relaxed_masks()) if facets else {},
            corrected_query=q.corrected,
            fallback=q.fallback,
            search_id=None,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            mode=q.mode,
            offset=offset,
            k=k,
        )
        return result

    def rank_ids(
        self, query: str, *, k: int = 100, mode: str = "hybrid", filters: Mapping[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Just the ranked ``(id, score)`` list (evaluation and benchmarks)."""
        res = self.search(query, k=k, mode=mode, filters=filters, facets=False, highlight_hits=False)
        return [(h.item_id, h.score) for h in res.hits]

    def _apply_rules(
        self, query: str, rows: np.ndarray, scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, set[int], int, list[int]]:
        """Rows and scores after the query's rules, pinned rows, pins that did not match, hidden rows."""
        rules = [r for r in self.rules if r.applies(query)]
        if not rules:
            return rows, scores, set(), 0, []
        row_of = self.lexical.row_of
        alive = self.lexical.alive

        def to_rows(ids: Iterable[str]) -> list[int]:
            return [row_of[i] for i in ids if i in row_of and alive[row_of[i]]]

        order = rows.tolist()
        sc = dict(zip(order, scores.tolist(), strict=True))
        extra = 0
        hidden: list[int] = []
        for rule in rules:
            hide = set(to_rows(rule.hide))
            hidden.extend(hide)
            order = [r for r in order if r not in hide]
            boost = to_rows(rule.boost)
            bset = set(boost)
            order = [r for r in order if r in bset] + [r for r in order if r not in bset]
            bury = set(to_rows(rule.bury))
            order = [r for r in order if r not in bury] + [r for r in order if r in bury]
        pinned: set[int] = set()
        pins = sorted((int(p["position"]), str(p["id"])) for rule in rules for p in rule.pin)
        for pos, iid in pins:
            got = to_rows([iid])
            if not got:
                continue
            r = got[0]
            if r not in sc:
                extra += 1
                sc[r] = max(sc.values(), default=1.0)
            order = [x for x in order if x != r]
            order.insert(min(pos - 1, len(order)), r)
            pinned.add(r)
        order_a = np.asarray(order, np.int64)
        return order_a, np.asarray([sc[r] for r in order], np.float64), pinned, extra, hidden

    def _sort(
        self, rows: np.ndarray, scores: np.ndarray, sort: str, need: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``need`` of ``rows`` in ``sort`` order (a partial sort: pages only need the top)."""
        c = self.catalog
        rel = np.arange(len(rows))  # ties keep relevance order
        if sort in ("price_asc", "price_desc"):
            v = c.price[rows]
            key = np.where(np.isnan(v), np.inf, v if sort == "price_asc" else -v)
        elif sort == "newest":
            v = c.created[rows]
            key = np.where(np.isnan(v), np.inf, -v)
        elif sort == "popularity":
            key = -c.popularity[rows]
        else:  # rating
            v = c.rating[rows]
            key = np.where(np.isnan(v), np.inf, -v)
        if 0 < need < len(rows):
            part = np.argpartition(key, need - 1)[:need]
            rows, scores, key, rel = rows[part], scores[part], key[part], rel[part]
        order = np.lexsort((rel, key))
        return rows[order], scores[order]

    def facets(self, match: np.ndarray, relaxed: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Counts over the matches: category (every path level), brand, price bucket, facet attributes.

        ``match``: a boolean mask over rows (or row numbers). **Disjunctive facets** (Algolia,
        Meilisearch): ``relaxed[f]`` (``"category"``, ``"brand"``, ``"price"``, ``"attr:<key>"``) is
        the match under every filter except facet ``f``'s own; ``f`` is counted over it, so a shopper
        who picked brand A still sees the other brands' counts, while the other facets count the
        matches of every selection. Counting is one ``bincount`` per facet over integer codes
        precomputed per row (brand, category path, price bucket, attribute value).
        """
        c = self.catalog
        rows = np.flatnonzero(match) if match.dtype == bool else np.asarray(match, np.int64)
        over = {f: np.flatnonzero(m) for f, m in (relaxed or {}).items()}

        def counts(codes: np.ndarray, n_codes: int, facet: str) -> np.ndarray:
            # code -1 (none) lands in slot 0, which is dropped
            return np.bincount(codes[over.get(facet, rows)] + 1, minlength=n_codes + 1)[1:]

        out: dict[str, Any] = {}
        prefixes, levels = c.category_levels()
        per_level = levels.T @ counts(c.cat_code, len(c.cat_paths), "category").astype(np.float64)
        top = np.argsort(-per_level, kind="stable")[:30]
        out["category"] = {prefixes[i]: int(per_level[i]) for i in top.tolist() if per_level[i] > 0}
        bcounts = counts(c.brand_code, len(c.brand_names), "brand")
        top = np.argsort(-bcounts, kind="stable")[:20]
        out["brand"] = {c.brand_names[i]: int(bcounts[i]) for i in top.tolist() if bcounts[i] > 0}
        pcounts = counts(c.price_bucket, len(PRICE_EDGES) + 1, "price")
        edges = (0.0, *PRICE_EDGES, math.inf)
        out["price"] = {
            (f"{edges[i]:g}..{edges[i + 1]:g}" if math.isfinite(edges[i + 1]) else f"{edges[i]:g}..")
            : int(pcounts[i]) for i in range(len(pcounts)) if pcounts[i]
        }  # fmt: skip
        attrs: dict[str, dict[str, int]] = {}
        for key in c.facet_keys:
            acounts = counts(c.attr_code[key], len(c.attr_values[key]), f"attr:{key}")
            nz = np.argsort(-acounts, kind="stable")[:20]
            vals = {c.attr_values[key][i]: int(acounts[i]) for i in nz.tolist() if acounts[i] > 0}
            if vals:
                attrs[key] = vals
        out["attributes"] = attrs
        return out

    def suggest(self, prefix: str, k: int = 8) -> list[dict[str, object]]:
        return self.suggester.suggest(prefix, k)

    def judged_candidates(
        self, queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per judged query: ``(ranked hybrid rows, features of the top rerank_n, grades (unjudged = 0))``."""
        out = {}
        for qid, text in queries.items():
            if qid not in qrels:
                continue
            q = self._retrieve(text, "hybrid", None)
            head = q.rows[: self.config.rerank_n]
            judged = qrels[qid]
            y = np.asarray([judged.get(self.lexical.ids[r], 0) for r in head.tolist()], np.float32)
            out[qid] = (q.rows, self.features(q, head), y)
        return out

    def train_reranker(
        self, queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], **params: Any
    ) -> Reranker:
        """Fit the ``ltr`` reranker on judgements (e.g. a shop's own judged queries) and install it."""
        from shopmind.search.ltr import RankingData

        cands = self.judged_candidates(queries, qrels)
        parts = [(q, X, y) for q, (_, X, y) in cands.items() if len(y) and y.max() > 0]
        self.reranker = Reranker(params=params or None).fit(RankingData.stack(parts))
        return self.reranker

    def new_search_id(self) -> str:
        return uuid.uuid4().hex


def _top(rows: np.ndarray, key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` rows with the largest ``key``, sorted (ties by row), with their keys.

    Ties at the cut go to the lower rows: ``argpartition`` alone would pick among them by NumPy's SIMD
    dispatch (AVX-512 and AVX2 differ), and the candidates would depend on the CPU.
    """
    if n < len(rows):
        cut = np.partition(key, len(key) - n)[len(key) - n]  # the n-th largest value
        better = np.flatnonzero(key > cut)
        tied = np.flatnonzero(key == cut)
        need = n - len(better)
        if need < len(tied):  # rows are unique, so the `need` lowest are one definite set
            tied = tied[np.argpartition(rows[tied], need - 1)[:need]]
        pick = np.concatenate([better, tied])
        rows, key = rows[pick], key[pick]
    order = np.lexsort((rows, -key))
    return rows[order], key[order]


def _lookup_values(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values[keys == w]`` for each ``w`` in ``wanted`` (0 where absent); keys are unique."""
    if not len(keys):
        return np.zeros(len(wanted), np.float64)
    order = np.argsort(keys)
    pos = np.minimum(np.searchsorted(keys[order], wanted), len(keys) - 1)
    found = keys[order][pos] == wanted
    return np.where(found, values[order][pos], 0.0)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _lookup(codes: np.ndarray, ok: Sequence[int], n_codes: int) -> np.ndarray:
    """``codes ∈ ok`` as a table lookup (code -1, "none", reads the table's extra False slot)."""
    table = np.zeros(n_codes + 1, bool)
    table[list(ok)] = True
    return table[codes]


def _price_range(value: Any) -> tuple[float, float]:
    try:
        if isinstance(value, Mapping):
            lo, hi = value.get("min"), value.get("max")
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            lo, hi = value
        else:
            s = str(value)
            if ".." not in s:
                raise ValueError(s)
            lo_s, hi_s = s.split("..", 1)
            lo, hi = (lo_s or None), (hi_s or None)
        lo_f = float(lo) if lo not in (None, "") else -math.inf
        hi_f = float(hi) if hi not in (None, "") else math.inf
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "bad price filter", value=value, expected="'10..50', '..50', '10..' or (lo, hi)"
        ) from exc
    if lo_f > hi_f:
        raise ConfigError("price filter minimum above maximum", value=value)
    return lo_f, hi_f


def _typo_texts(recs: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for r in recs:
        cat = r.get("category")
        cat_s = " ".join(str(x) for x in cat) if isinstance(cat, (list, tuple, np.ndarray)) else ""
        out.append(" ".join([str(r.get("title") or ""), str(r.get("brand") or ""), cat_s]))
    return out
