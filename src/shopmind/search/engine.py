"""Product search without a store: ``ProductSearch.build(items_frame)`` → ``.search(query, …)``.

Pipeline of one query (``mode``: ``bm25`` | ``semantic`` | ``hybrid`` | ``ltr``):

1. **Typo correction** of words the index does not know (:mod:`shopmind.search.typo`).
2. **Keyword match** (:mod:`shopmind.search.lexical`): boosted multi-field BM25 + word coverage.
   Documents with *every* query word rank first, then those with fewer words (Meilisearch's
   "words" rule). If no document has every word the result says ``fallback="or"``. The query's
   translation by the catalogue's Chinese ↔ English glossary (:mod:`shopmind.search.glossary`) is
   matched too: products with all of its words rank after those with all of the query's own.
3. **Semantic match** (:mod:`shopmind.search.semantic`): the nearest ``candidates`` products under the
   non-facet filters, then the facet filters (so a facet value's count is the total its selection
   gives). Under an English-only encoder, CJK queries and CJK-titled products are placed by the
   multilingual encoder (``search.multilingual_encoder``, :meth:`ProductSearch.semantic_for`); without
   one, CJK queries skip this step.
4. **Fusion** (:mod:`shopmind.search.fusion`): RRF (default) or weighted normalised scores.
5. **Reranking** (``ltr``): LightGBM lambdarank over the top ``rerank_n`` (:mod:`shopmind.search.ltr`).
6. **Personalisation**: relevance scores (scaled to [0, 1]) plus ``personal_weight`` × the user's
   affinity to the product's brand/category.
7. **Merchandising rules** per query: hide, boost, bury, pin at a position.
8. **Exact identifiers**: a query that is a product's id, SKU/model/part number or a model number in its
   title (ignoring case, spaces and hyphens, :func:`identifier_index`) ranks that product first.
9. **Filters** (applied before ranking), **facets** over everything that matched (disjunctive: a
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.catalog import Catalog, field_text, records_of
from shopmind.config import SEARCH_K, SUGGEST_K, SearchConfig
from shopmind.errors import ArtifactError, ConfigError
from shopmind.search.analyzers import Analyzer, Synonyms, flatten_groups
from shopmind.search.facets import choose_facet_keys, facet_counts
from shopmind.search.features import RankSignals, affinity_vector, feature_matrix
from shopmind.search.filters import FilterMasks, filter_masks
from shopmind.search.fusion import rrf, weighted
from shopmind.search.glossary import Glossary
from shopmind.search.highlight import highlight, snippet
from shopmind.search.lexical import LexicalIndex
from shopmind.search.ltr import RankingData, Reranker
from shopmind.search.retrieval import Candidates, lookup_values, top_rows
from shopmind.search.rules import Rule, RuleIndex, apply_rules, parse_rules
from shopmind.search.semantic import SemanticIndex, item_text, top_n
from shopmind.search.suggest import Suggester
from shopmind.search.typo import TypoCorrector
from shopmind.text import CJK_RE, has_cjk, normalize

MODES = ("bm25", "semantic", "hybrid", "ltr")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popularity", "rating")
SORT_ALIASES = {
    "price": "price_asc",
    "-price": "price_desc",
    "price-desc": "price_desc",
    "price-asc": "price_asc",
}

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: ranking signals in signals.npz, one catalogue format (shopmind.catalog)


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
    k: int = SEARCH_K

    @property
    def ids(self) -> list[str]:
        return [h.item_id for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


# Attribute keys whose values identify one product (a model or part number, a SKU, a barcode).
IDENTIFIER_ATTRIBUTES = frozenset(
    {"sku", "model", "model_number", "mpn", "part_number", "article_number", "ean", "gtin", "upc", "isbn"}
)
MIN_IDENTIFIER = 3  # shorter keys ("a4", "x1") are words more often than identifiers
_NOT_ID_CHAR = re.compile(r"[\W_]+")
_TITLE_TOKEN_EDGES = ",.;:!?()[]{}\"'"
# Sentence encoders trained on English text only: their vectors of CJK text are close to everything
# (the all-* models' cards: "trained on English data"; a multilingual model names itself so).
ENGLISH_ONLY_ENCODER = re.compile(
    r"all-minilm|all-mpnet|all-distilroberta|msmarco|english|(^|[-_])en($|[-_.])", re.I
)


def _cjk_titles(catalog: Catalog) -> np.ndarray:
    """Rows whose title holds a CJK ideograph (bool), one vectorised regex pass."""
    return pd.Series(catalog.title, dtype=object).str.contains(CJK_RE.pattern, regex=True).to_numpy(bool)


def is_english_only(encoder: Any, spec: str | None = None) -> bool:
    """Whether ``encoder`` (or, without a name, the ``spec`` it was made from) is English-only."""
    name = getattr(encoder, "name", "") or (spec or "")
    return ENGLISH_ONLY_ENCODER.search(str(name)) is not None


def identifier_key(text: str) -> str:
    """``text`` as an identifier key: NFKC, lower case, without spaces, hyphens, dots or slashes
    (``"WH-952"``, ``"wh 952"`` and ``"ＷＨ952"`` all give ``"wh952"``)."""
    return _NOT_ID_CHAR.sub("", normalize(text))


def _model_tokens(title: str) -> list[str]:
    """Title words that look like model numbers: letters and digits in one word (``WH-1000XM5``)."""
    out = []
    for word in title.split():
        word = word.strip(_TITLE_TOKEN_EDGES)
        if any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word):
            out.append(word)
    return out


def identifier_index(catalog: Catalog) -> dict[str, np.ndarray]:
    """Identifier key → rows: every product's id, its identifier attributes (:data:`IDENTIFIER_ATTRIBUTES`)
    and the model numbers in its title (:func:`identifier_key`, keys of at least ``MIN_IDENTIFIER``)."""
    index: dict[str, list[int]] = {}
    for row, (item_id, title, attrs) in enumerate(
        zip(catalog.ids, catalog.title, catalog.attributes, strict=True)
    ):
        names = [item_id, *_model_tokens(title)]
        for key, value in attrs.items():
            if key.lower() in IDENTIFIER_ATTRIBUTES and isinstance(value, (str, int)):
                names.append(str(value))
        for name in names:
            k = identifier_key(name)
            if len(k) >= MIN_IDENTIFIER:
                rows = index.setdefault(k, [])
                if not rows or rows[-1] != row:
                    rows.append(row)
    return {k: np.asarray(v, np.int64) for k, v in index.items()}


def _without(masks: dict[str, np.ndarray], rows: Sequence[int]) -> dict[str, np.ndarray]:
    """``masks`` with ``rows`` (products a merchandising rule hides) cleared."""
    if len(rows):
        for m in masks.values():
            m[list(rows)] = False
    return masks


def promote(rows: np.ndarray, scores: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` with ``first`` moved to the front (in their current order, the others after them),
    scored above every other row."""
    if not len(first):
        return rows, scores
    is_first = np.isin(rows, first)
    head = np.concatenate([rows[is_first], first[~np.isin(first, rows)]])
    top = float(scores.max()) if len(scores) else 0.0
    head_scores = top + 1.0 + np.arange(len(head), 0, -1) * 1e-6
    return np.concatenate([head, rows[~is_first]]), np.concatenate([head_scores, scores[~is_first]])


def _typo_texts(recs: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for r in recs:
        cat = r.get("category")
        cat_s = " ".join(str(x) for x in cat) if isinstance(cat, (list, tuple, np.ndarray)) else ""
        out.append(" ".join([str(r.get("title") or ""), str(r.get("brand") or ""), cat_s]))
    return out


class ProductSearch:
    """The search engine over one catalogue (see the module docstring)."""

    def __init__(
        self,
        config: SearchConfig,
        lexical: LexicalIndex,
        catalog: Catalog,
        signals: RankSignals,
        semantic: SemanticIndex | None,
        typo: TypoCorrector,
        suggester: Suggester,
        rules: list[Rule] | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.config = config
        self.lexical = lexical
        self.catalog = catalog
        self.signals = signals
        self.semantic = semantic
        self.typo = typo
        self.suggester = suggester
        self.rules = rules or []  # indexed by query (RuleIndex)
        self.reranker = reranker
        self._vocab: set[str] | None = None
        self.glossary: Glossary | None = None  # Chinese ↔ Latin phrases mined from the catalogue
        self.multilingual: SemanticIndex | None = None  # vectors for what an English-only encoder can't place

    @property
    def rules(self) -> list[Rule]:
        """The merchandising rules, in order."""
        return self._rules.rules

    @rules.setter
    def rules(self, rules: Iterable[Rule]) -> None:
        self._rules = RuleIndex(rules)

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
        progress: Callable[[int, int], None] | None = None,
    ) -> ProductSearch:
        """Index a catalogue (a frame or dicts with ``Item`` fields); ``progress(done, total)``: products
        embedded so far (``SemanticIndex.build``)."""
        config = config or SearchConfig()
        recs = records_of(items)
        started = time.perf_counter()
        lexical = LexicalIndex.build(
            [_lexical_doc(r) for r in recs], config.fields, "id", k1=config.k1, b=config.b, synonyms=synonyms,
            analyzer=Analyzer.for_catalogue(recs, segmenter=config.segmenter, user_dictionary=config.user_dictionary),
        )  # fmt: skip
        catalog = Catalog.from_records(recs, choose_facet_keys(recs, config.facet_attributes))
        signals = RankSignals()
        stats = {"popularity": dict(popularity or {}), "rating": dict(rating or {}), "ctr": dict(ctr or {})}
        signals.append(catalog.ids, stats)
        semantic = None
        if config.semantic:
            semantic = SemanticIndex.build(
                [item_text(r) for r in recs],
                encoder_spec=config.encoder,
                encoder=encoder,
                ann_threshold=config.ann_threshold,
                cache_dir=cache_dir,
                progress=progress,
            )
        typo = TypoCorrector(TypoCorrector.words_of(_typo_texts(recs)))
        suggester = Suggester.build(
            catalog.title, signals.popularity.tolist(), catalog.brand, catalog.category, queries
        )
        engine = cls(config, lexical, catalog, signals, semantic, typo, suggester, parse_rules(rules))
        engine.glossary = Glossary.from_records(recs) if config.glossary else None
        if semantic is not None and config.multilingual_encoder and is_english_only(semantic.encoder):
            engine.multilingual = SemanticIndex.build(
                [item_text(r) for r in recs],
                encoder_spec=config.multilingual_encoder,
                ann_threshold=config.ann_threshold,
                cache_dir=cache_dir,
            )
        log.info("search index of %d products built in %.2fs", len(recs), time.perf_counter() - started)
        return engine

    def save(self, path: Path) -> None:
        """Artifacts: lexical/ (bm25s CSC arrays), semantic/ (npy + usearch), catalog.npz/json,
        signals.npz, JSON rest."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexical.save(path / "lexical")
        self.catalog.save(path)
        self.signals.save(path)
        if self.semantic is not None:
            self.semantic.save(path / "semantic")
        if self.multilingual is not None:
            self.multilingual.save(path / "semantic-multilingual")
        if self.glossary is not None:
            self.glossary.save(path / "glossary.json")
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
        catalog = Catalog.load(path)
        signals = RankSignals.load(path)
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
        n_vectors = None if semantic is None else len(semantic.vectors)
        if (
            len(catalog) != lexical.n_rows
            or len(signals) != lexical.n_rows
            or n_vectors not in (None, lexical.n_rows)
        ):
            raise ArtifactError(
                "catalog, signals, vectors and index disagree on the number of rows",
                value=(len(catalog), len(signals), n_vectors, lexical.n_rows),
            )
        engine = cls(config, lexical, catalog, signals, semantic, typo, suggester, rules, reranker)
        if (path / "glossary.json").exists():
            engine.glossary = Glossary.load(path / "glossary.json")
        if config.multilingual_encoder and (path / "semantic-multilingual" / "vectors.npy").exists():
            engine.multilingual = SemanticIndex.load(
                path / "semantic-multilingual",
                encoder_spec=config.multilingual_encoder,
                ann_threshold=config.ann_threshold,
            )
            if len(engine.multilingual.vectors) != lexical.n_rows:
                raise ArtifactError(
                    "multilingual vectors and index disagree on the number of rows",
                    value=(len(engine.multilingual.vectors), lexical.n_rows),
                )
        return engine

    # ----------------------------------------------------------------- updates
    def upsert(self, items: pd.DataFrame | Sequence[Mapping[str, Any]]) -> int:
        """Add or replace products now (delta index + tombstones); returns how many."""
        recs = records_of(items)
        if not recs:
            return 0
        self.lexical.upsert([_lexical_doc(r) for r in recs])
        self.catalog.append(recs)
        self.signals.append([r["id"] for r in recs], {})
        if self.semantic is not None:
            self.semantic.append([item_text(r) for r in recs])
        if self.multilingual is not None:
            self.multilingual.append([item_text(r) for r in recs])
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

    def set_field_weights(self, weights: Mapping[str, float]) -> None:
        """New BM25 boosts of the indexed fields from the next query on (see ``LexicalIndex.set_weights``);
        saved with the index's config."""
        self.lexical.set_weights(weights)
        self.config = self.config.model_copy(update={"fields": dict(self.lexical.fields)})

    def field_texts(self, name: str, rows: Iterable[int]) -> list[str]:
        """The text the keyword index holds for field ``name`` of catalogue ``rows`` (as at build time:
        ``_lexical_doc`` of the stored product), to index a field the index was built without."""
        c = self.catalog
        return [
            field_text(
                _lexical_doc(
                    {
                        "id": c.ids[r],
                        "title": c.title[r],
                        "brand": c.brand[r],
                        "category": list(c.category[r]),
                        "attributes": c.attributes[r],
                        "description": c.description[r],
                    }
                )[name]
            )
            for r in rows
        ]

    @property
    def n_items(self) -> int:
        return int(self.lexical.alive.sum())

    # ----------------------------------------------------------------- filters
    def filter_mask(self, filters: Mapping[str, Any] | None) -> np.ndarray:
        """Rows that pass ``filters`` (and are not deleted); see :meth:`filter_parts` for the keys."""
        return self.filter_parts(filters).mask

    def filter_parts(self, filters: Mapping[str, Any] | None) -> FilterMasks:
        """``filters`` as row masks: one per facet they select, the rest (and tombstones) in ``base``
        (keys: :mod:`shopmind.search.filters`)."""
        return filter_masks(self.catalog, self.lexical.alive, filters)

    # ----------------------------------------------------------------- retrieval
    def exact_rows(self, query: str, mask: np.ndarray) -> np.ndarray:
        """Rows (passing ``mask``) whose id, identifier attribute or title model number *is* the whole
        query, ignoring case, spaces and hyphens (:func:`identifier_index`); they rank first."""
        key = identifier_key(query)
        if len(key) < MIN_IDENTIFIER:
            return np.zeros(0, np.int64)
        rows = self.catalog.derived("search.identifiers", identifier_index).get(key)
        if rows is None:
            return np.zeros(0, np.int64)
        return rows[mask[rows]]

    def semantic_applies(self, text: str) -> bool:
        """Whether an encoder of the index can place ``text`` (:meth:`semantic_for`)."""
        return self.semantic_for(text) is not None

    def semantic_for(self, text: str) -> SemanticIndex | None:
        """The vector index that embeds ``text``: the configured encoder's, except for CJK text under an
        English-only encoder (:data:`ENGLISH_ONLY_ENCODER`; its nearest neighbours of "狗粮" are keyboards
        and watches), which goes to the multilingual encoder's (``search.multilingual_encoder``) or
        to none."""
        if self.semantic is None:
            return None
        if not has_cjk(text) or not is_english_only(self.semantic.encoder, self.config.encoder):
            return self.semantic
        return self.multilingual

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

    def _retrieve(
        self, query: str, mode: str, filters: Mapping[str, Any] | None, need: int = 0
    ) -> Candidates:
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
        if mode == "semantic" and not self.semantic_applies(query):
            mode = "bm25"  # an English-only encoder ranks CJK text at random: keyword matches only
        fparts = self.filter_parts(filters)
        mask = fparts.mask
        exact = self.exact_rows(query, fparts.base)
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
            lex_rows, lex_scores = top_rows(total_lex, key, max(cfg.candidates, need))
            lex_scores = m.score[lex_rows].astype(np.float64)
            crossed = self._with_translation(text, groups, m, mask, max(cfg.candidates, need))
            if crossed is not None:
                matched, lex_rows, lex_scores, full = crossed
                total_lex = np.flatnonzero(matched)
                fallback = None if full else "or"
        qv = None
        sem = self.semantic_for(text)
        sem_rows = np.zeros(0, np.int64)
        sem_sims = np.zeros(0, np.float32)
        pool_rows = np.zeros(0, np.int64)
        pool_sims = np.zeros(0, np.float32)
        if sem is not None and (
            mode in ("semantic", "hybrid", "ltr")
            or (mode == "bm25" and not len(total_lex) and not np.any(mask[exact]))
        ):
            # nearest neighbours under the non-facet filters, then the facet filters: the same rows
            # count for a facet value whether or not it is selected (facet count == filtered total)
            pool_rows, pool_sims, vec = self._semantic_pool(sem, text, fparts.base, cfg.candidates)
            qv = vec if sem is self.semantic else None  # the ranker's cosine feature is the main encoder's
            inside = mask[pool_rows]
            sem_rows, sem_sims = pool_rows[inside], pool_sims[inside]
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
        pool = np.zeros(0, np.int64)
        if mode_used == "bm25":
            rows, scores = lex_rows, lex_scores
        elif mode_used == "semantic":
            keep = sem_sims >= cfg.min_similarity if fallback == "semantic" else np.ones(len(sem_rows), bool)
            rows, scores = sem_rows[keep], sem_sims[keep].astype(np.float64)
            matched = np.zeros(len(mask), bool)  # semantic mode: its candidates are the matches
            extra = rows
            pool = pool_rows[pool_sims >= cfg.min_similarity] if fallback == "semantic" else pool_rows
        else:
            pool = pool_rows[pool_sims >= cfg.min_similarity]
            if not len(total_lex) and groups and sem is not None:
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
            keep = in_lex | (lookup_values(sem_rows, sem_sims, rows) >= cfg.min_similarity)
            rows, scores = rows[keep], scores[keep]
            extra = rows[~in_lex[keep]]
            # lexical matches beyond the fused window follow in keyword order
            tail = lex_rows[cfg.candidates :]
            if len(tail):
                floor = float(scores.min()) if len(scores) else 1.0
                rows = np.concatenate([rows, tail])
                scores = np.concatenate([scores, floor * np.linspace(0.999, 0.5, len(tail))])
        if len(exact):
            rows, scores = promote(
                np.asarray(rows, np.int64), np.asarray(scores, np.float64), exact[mask[exact]]
            )
            pool = np.union1d(pool, exact)
            extra = np.union1d(extra, exact[mask[exact]])
        total = matched
        if len(extra):
            total = matched.copy()
            total[extra] = True
        return Candidates(
            text, groups, m, mask, np.asarray(rows, np.int64), np.asarray(scores, np.float64), lex_rank,
            sem_rank, sims, qv, corrected, fallback, total, mode_used, fparts, np.asarray(extra, np.int64),
            mode_used != "semantic", np.asarray(pool, np.int64),
        )  # fmt: skip

    def _semantic_pool(
        self, sem: SemanticIndex, text: str, alive: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, similarities, query vector of sem)``: the ``n`` nearest ``alive`` products of ``text``.

        A Latin-script query under an English-only encoder with a multilingual index beside it is
        placed by each encoder where it can: English-only vectors for products without CJK titles,
        multilingual ones for CJK-titled products (both cosine similarities of unit vectors), merged.
        """
        vec = sem.embed_query(text)
        if sem is not self.semantic or self.multilingual is None or has_cjk(text):
            return (*sem.top(vec, n, alive=alive), vec)
        cjk = self.catalog.derived("search.cjk_titles", _cjk_titles) & alive
        if not cjk.any():
            return (*sem.top(vec, n, alive=alive), vec)
        rows_a, sims_a = sem.top(vec, n, alive=alive & ~cjk)
        rows_b, sims_b = self.multilingual.top(self.multilingual.embed_query(text), n, alive=cjk)
        rows, sims = top_n(np.concatenate([rows_a, rows_b]), np.concatenate([sims_a, sims_b]), n)
        return rows, sims, vec

    def _with_translation(
        self, text: str, groups: Sequence[Any], m: Any, mask: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
        """The keyword leg with the glossary translation of ``text`` (:mod:`.glossary`) added, or None
        when the glossary knows none of its phrases or the translation matches nothing.

        Returns ``(matched mask, top n rows, their keyword scores, whether some row has every word)``.
        Rows rank by tier, then BM25: every word of the query itself (3), every word of the
        translation (2), else the share of the query's words (0–1) — exact matches stay first.
        """
        translated = self.glossary.translate(text) if self.glossary is not None else None
        tgroups = self.lexical.groups(translated) if translated else []
        if not tgroups:
            return None
        tm = self.lexical.match(tgroups)
        # a translation is a guess: only products with all of its words join (no OR fallback for it)
        t_matched = (tm.coverage == len(tgroups)) & mask
        if not t_matched.any():
            return None
        matched = ((m.coverage > 0) & mask) | t_matched
        rows = np.flatnonzero(matched)
        own = m.coverage[rows] / len(groups)
        tier = np.where(own == 1, 3.0, np.where(t_matched[rows], 2.0, own))
        score = np.where(tier == 2.0, tm.score[rows], m.score[rows])
        top, _ = top_rows(rows, tier * 1e4 + score, n)
        scores = np.zeros(len(mask), np.float64)
        scores[rows] = score
        return matched, top, scores[top], bool(np.any(tier >= 2))

    # ----------------------------------------------------------------- features
    def features(self, q: Candidates, rows: np.ndarray, affinity: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix ``[len(rows), len(FEATURES)]`` for the learned ranker (:mod:`.features`)."""
        return feature_matrix(
            q,
            rows,
            catalog=self.catalog,
            signals=self.signals,
            lexical=self.lexical,
            semantic=self.semantic,
            affinity=affinity,
        )

    def affinity_vector(self, affinity: Mapping[str, float] | None) -> np.ndarray | None:
        """Per-row affinity in [0, 1] from ``{"brand:Sony": w, "category:Audio": w}`` (max over matches)."""
        return affinity_vector(self.catalog, affinity)

    # ----------------------------------------------------------------- search
    def search(
        self,
        query: str,
        *,
        k: int = SEARCH_K,
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
        if q.mode == "ltr" or aff is not None:  # exact identifier matches stay first after reranking
            rows, scores = promote(rows, scores, self.exact_rows(query, q.mask))
        pinned: set[int] = set()
        # eligible=q.mask: rules pin only products that pass the shopper's filters
        rows, scores, pinned, extra_total, hidden = apply_rules(
            self._rules.active(query), query, rows, scores, self.lexical.row_of, self.lexical.alive, q.mask
        )
        match = q.total_mask
        if extra_total or hidden:  # pinned products that did not match count; hidden ones do not
            match = match.copy()
            if extra_total:
                match[rows] = True
            match[hidden] = False
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
            facets=self.facets(match, _without(q.relaxed_masks(), hidden)) if facets else {},
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
            key = -self.signals.popularity[rows]
        else:  # rating
            v = self.signals.rating[rows]
            key = np.where(np.isnan(v), np.inf, -v)
        if 0 < need < len(rows):
            part = np.argpartition(key, need - 1)[:need]
            rows, scores, key, rel = rows[part], scores[part], key[part], rel[part]
        order = np.lexsort((rel, key))
        return rows[order], scores[order]

    def facets(self, match: np.ndarray, relaxed: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Facet counts over ``match`` (a row mask or row numbers); ``relaxed``: per selected facet, the
        match under every other filter (disjunctive facets, see :mod:`shopmind.search.facets`)."""
        return facet_counts(self.catalog, match, relaxed)

    def suggest(self, prefix: str, k: int = SUGGEST_K) -> list[dict[str, object]]:
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
        cands = self.judged_candidates(queries, qrels)
        parts = [(q, X, y) for q, (_, X, y) in cands.items() if len(y) and y.max() > 0]
        self.reranker = Reranker(params=params or None).fit(RankingData.stack(parts))
        return self.reranker

    def new_search_id(self) -> str:
        return uuid.uuid4().hex
