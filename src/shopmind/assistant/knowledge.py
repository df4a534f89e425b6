"""Grounded answers from the shop's help-centre documents.

Documents are split into paragraphs (*passages*); passages are indexed with shopmind's multi-field
BM25 (:class:`shopmind.search.lexical.LexicalIndex`, English + Chinese analyzers, fields
``title`` ×2 and ``text`` ×1). Optionally the packaged sentence encoder adds a semantic score.

**Confidence** of the best passage ``p`` for query ``q``:

* lexical coverage ``cov = |{query words matched in p}| / |query words|`` (words after the search
  analyzer: stop words dropped, stems, Chinese words/bigrams);
* with embeddings: ``conf = ½·cov + ½·max(0, cos(e_q, e_p))``, otherwise ``conf = cov``;
* **cross-lingual** (a multilingual encoder, e.g. ``use-multilingual``, and a passage in another
  language than the query, where word coverage says nothing): ``conf_x = min(1, max(0, cos(e_q, e_p))
  · min_confidence / crosslingual_similarity)`` — a cosine of ``crosslingual_similarity`` (0.3 by
  default; USE-multilingual puts a question and the help page that answers it in another language at
  0.35–0.45 and unrelated pairs at ≤ 0.1) reaches the answer threshold exactly — and the passage's
  confidence is ``max(conf, conf_x)``. The encoder's nearest passages join the BM25 candidates, so a
  Chinese question reaches an English page that shares no word with it. This leg opens only when no
  passage in the query's language is close to the question (cosine < ``crosslingual_similarity``):
  otherwise those passages decide as before, with the word-coverage guard. Without that guard a
  cross-language question about a neighbouring topic gets the neighbouring page (for "比特币可以付款吗"
  the English payment-methods page, quoted verbatim), never an invented policy.

The encoder is named by a spec (:func:`shopmind.embeddings.get_encoder`: ``None`` = packaged MiniLM,
``"use-multilingual"``, ``"mpnet"``, a folder …) that is saved with the index, so a loaded knowledge
base embeds queries with the encoder its passages were embedded with.

Below ``min_confidence`` the answer says the help centre does not cover the question and offers a
hand-off. **No invented policy**: the answer body is always sentences copied verbatim from one
passage (the most query-relevant ones, in their original order); the only other text is a fixed,
fact-free frame ("According to our help centre (Returns and refunds):"). Every answer cites the
document id, title and url.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.data.schema import Document
from shopmind.errors import ArtifactError, DataError
from shopmind.text import CJK_RE, detect_language

# a sentence ends at . ! ? followed by white space (not "$12.99"), or at Chinese 。！？
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_FILLER_EN = (
    "how long when where what which who why can could would should will shall may might please tell "
    "me know want need like help do does did have has get got i my an a the is are about any there "
    "much many it this that you your yours we our us hello hi thanks thank policy question something "
    "anything thing things stuff item items product products one ones take takes taking took go goes"
)
_FILLER_ZH = "政策 规定 吗 呢 吧 啊 什么 怎么 怎样 如何 多久 多少 多长时间 可以 能 能否 请问 请 你们 你 我 我的 是 的 了 有 有没有 一下 想 要 需要 哪些 哪里 几天 时候"
FILLER_WORDS = frozenset(_FILLER_EN.split()) | frozenset(_FILLER_ZH.split())
"""Question and filler words left out of the coverage confidence (they say nothing about the topic)."""
_PARA_RE = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    title: str
    text: str
    language: str = "en"
    url: str | None = None


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    url: str | None = None
    passage_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """A grounded answer: ``body`` is verbatim text from ``passage``; ``text`` adds the fixed frame."""

    text: str
    body: str
    confidence: float
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    passage: Passage | None = None


def split_sentences(text: str) -> list[str]:
    """Sentences (English ``.!?`` and Chinese ``。！？``), each a verbatim substring of ``text``."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def split_passages(doc: Document, max_chars: int = 800) -> list[Passage]:
    """Paragraphs of ``doc.body``; paragraphs longer than ``max_chars`` are cut at sentence ends."""
    out: list[Passage] = []
    chunks: list[str] = []
    for para in _PARA_RE.split(doc.body):
        para = para.strip()
        if not para:
            continue
        if len(para) <= max_chars:
            chunks.append(para)
            continue
        buf = ""
        for sent in split_sentences(para):
            if buf and len(buf) + len(sent) + 1 > max_chars:
                chunks.append(buf)
                buf = ""
            buf = f"{buf} {sent}".strip() if buf and not _is_cjk_text(sent) else buf + sent
        if buf:
            chunks.append(buf)
    for i, chunk in enumerate(chunks):
        out.append(Passage(f"{doc.id}#{i}", doc.id, doc.title, chunk, doc.language, doc.url))
    return out


def _is_cjk_text(text: str) -> bool:
    return detect_language(text) == "zh"


def _base_language(language: str) -> str:
    return language.split("-")[0]


def is_multilingual_encoder(name: str | None) -> bool:
    """Whether the encoder named ``name`` (an encoder's name or a ``get_encoder`` spec; None = the
    packaged MiniLM) places Chinese and English text in one space."""
    from shopmind.embeddings import E5_SPECS, MULTILINGUAL_SPECS
    from shopmind.search.engine import is_english_only

    if not name or name in ("minilm", "mpnet"):
        return False
    return name in MULTILINGUAL_SPECS or name in E5_SPECS or not is_english_only(None, name)


class KnowledgeBase:
    """Passage retrieval + grounded answer extraction over help-centre documents."""

    def __init__(
        self,
        passages: list[Passage],
        index: Any,
        *,
        vectors: np.ndarray | None = None,
        encoder: Any = None,
        min_confidence: float = 0.4,
        encoder_spec: str | None = None,
        encoder_name: str | None = None,
        semantic: bool | None = None,
        crosslingual: bool = False,
        crosslingual_similarity: float = 0.3,
    ) -> None:
        if vectors is not None and vectors.shape[0] != len(passages):
            raise ArtifactError(
                "knowledge vectors do not match the passages",
                value=vectors.shape[0],
                expected=f"{len(passages)} rows",
            )
        if not 0 < crosslingual_similarity <= 1:
            raise DataError(
                "crosslingual_similarity out of range", value=crosslingual_similarity, expected="0 < s <= 1"
            )
        self.passages = passages
        self.by_id = {p.id: p for p in passages}
        self._row = {p.id: i for i, p in enumerate(passages)}
        self.index = index
        self.vectors = vectors
        self._encoder = encoder
        self.min_confidence = min_confidence
        self.encoder_spec = encoder_spec
        self.encoder_name = encoder_name or (getattr(encoder, "name", None) if encoder is not None else None)
        # semantic: the ½·cov + ½·cos mix for passages in the query's language (the old use_embeddings)
        self.semantic = vectors is not None if semantic is None else semantic and vectors is not None
        self.crosslingual = crosslingual and vectors is not None and self.multilingual
        self.crosslingual_similarity = crosslingual_similarity
        self._languages = np.array([_base_language(p.language) for p in passages])
        analyzer = index.analyzer
        self._terms = [frozenset(analyzer.analyze(f"{p.title} {p.text}")) for p in passages]
        self._raw = [f"{p.title} {p.text}".lower() for p in passages]
        self._title_terms = [frozenset(analyzer.analyze(p.title)) for p in passages]
        self._df: dict[str, int] = {}
        for terms in self._terms:
            for t in terms:
                self._df[t] = self._df.get(t, 0) + 1
        self._filler = frozenset(t for w in FILLER_WORDS for t in analyzer.analyze(w))

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        documents: Iterable[Document],
        *,
        use_embeddings: bool = False,
        encoder: Any = None,
        min_confidence: float = 0.4,
        encoder_spec: str | None = None,
        crosslingual: bool = False,
        crosslingual_similarity: float = 0.3,
    ) -> KnowledgeBase:
        """Index ``documents``; embed the passages when ``use_embeddings`` (semantic mix) or
        ``crosslingual`` (the cross-language leg; needs a multilingual encoder) is set.

        ``encoder`` is an encoder object, else ``encoder_spec`` names one (``get_encoder``); the spec is
        saved so :meth:`load` embeds queries with the same encoder.
        """
        from shopmind.search.lexical import LexicalIndex

        passages = [p for d in documents for p in split_passages(d)]
        if not passages:
            raise DataError("no help-centre documents to index", expected="at least one Document")
        rows = [{"id": p.id, "title": p.title, "text": p.text} for p in passages]
        index = LexicalIndex.build(rows, fields={"title": 2.0, "text": 1.0}, id_field="id")
        vectors = None
        if use_embeddings or crosslingual:
            if encoder is None:
                from shopmind.embeddings import get_encoder

                encoder = get_encoder(encoder_spec)
            name = getattr(encoder, "name", None) or encoder_spec
            if crosslingual and not is_multilingual_encoder(name):
                raise DataError(
                    "cross-lingual knowledge answers need a multilingual encoder",
                    value=name or "all-MiniLM-L6-v2",
                    expected="e.g. 'use-multilingual' or 'e5-multilingual'",
                )
            texts = [f"{p.title}. {p.text}" for p in passages]
            embed = getattr(encoder, "encode_passages", None) or encoder.encode
            vectors = np.asarray(embed(texts), dtype=np.float32)
        return cls(
            passages,
            index,
            vectors=vectors,
            encoder=encoder,
            min_confidence=min_confidence,
            encoder_spec=encoder_spec,
            semantic=use_embeddings,
            crosslingual=crosslingual,
            crosslingual_similarity=crosslingual_similarity,
        )

    @property
    def encoder(self) -> Any:
        """The encoder the passages were embedded with (loaded lazily from the saved spec)."""
        if self._encoder is None and self.vectors is not None:
            from shopmind.embeddings import get_encoder

            encoder = get_encoder(self.encoder_spec)
            dim = getattr(encoder, "dim", None)
            if isinstance(dim, int) and dim != self.vectors.shape[1]:
                raise ArtifactError(
                    "the knowledge vectors were made by another encoder",
                    value=f"{self.vectors.shape[1]}-d vectors, encoder {self.encoder_spec or 'MiniLM'} {dim}-d",
                    expected="rebuild the knowledge base (shopmind train)",
                )
            self._encoder = encoder
        return self._encoder

    @property
    def multilingual(self) -> bool:
        """Whether the passage vectors come from an encoder that places Chinese and English together."""
        return self.vectors is not None and is_multilingual_encoder(self.encoder_name or self.encoder_spec)

    # --- retrieval ----------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 3, language: str | None = None) -> list[tuple[Passage, float]]:
        """Top ``k`` passages with their confidence (see module docstring), best first.

        Passages in the query's language are preferred; other languages are used only when none
        in that language matches.
        """
        language = language or detect_language(query)
        n_cand = max(k * 4, 10)
        ids = [pid for pid, _bm25 in self.index.search(query, k=n_cand)]
        cross = self.crosslingual and bool((self._languages != language).any())
        q_vec = self._query_vector(query) if cross or (self.semantic and self._can_place(language)) else None
        if cross and q_vec is not None:
            sims_all = self.vectors @ q_vec  # type: ignore[operator]
            own = sims_all[self._languages == language]
            # a page in the query's language close to the question: those pages decide, as without
            # the encoder (their word coverage still says "not covered" for an unmentioned "bitcoin")
            cross = not (own.size and float(own.max()) >= self.crosslingual_similarity)
        if cross and q_vec is not None:
            # the encoder's nearest passages in other languages join the lexical candidates
            seen = set(ids)
            for row in np.argsort(-sims_all, kind="stable")[:n_cand]:
                pid = self.passages[int(row)].id
                if pid not in seen and self._languages[row] != language:
                    ids.append(pid)
                    seen.add(pid)
        if not ids:
            return []
        coverage = self._coverage(query, ids)
        sims = (
            [float(self.vectors[self._row[i]] @ q_vec) for i in ids]  # type: ignore[index]
            if q_vec is not None
            else [None] * len(ids)
        )
        scored = []
        for pid, cov, sim in zip(ids, coverage, sims, strict=True):
            passage = self.by_id[pid]
            same_language = _base_language(passage.language) == language
            conf = (
                0.5 * cov + 0.5 * max(0.0, sim)
                if sim is not None and self.semantic and same_language
                else cov
            )
            if cross and sim is not None and not same_language:
                scale = self.min_confidence / self.crosslingual_similarity
                conf = max(conf, min(1.0, max(0.0, sim) * scale))
            scored.append((passage, float(conf)))
        titles = self._title_hits(query, ids)
        ranked = [(p, c, t) for (p, c), t in zip(scored, titles, strict=True)]
        same = [r for r in ranked if _base_language(r[0].language) == language]
        pool = same or ranked
        # ties in confidence: a page whose title names the topic first, then BM25 order (stable sort)
        pool.sort(key=lambda r: (-r[1], -r[2]))
        return [(p, c) for p, c, _ in pool[:k]]

    def _content_groups(self, query: str) -> list[Any]:
        # a filler word is recognised by its surface form too: an analyzer may add sub-word terms
        # (Han suffixes, bigrams) that the filler set built from its own output does not hold
        return [
            g
            for g in self.index.groups(query)
            if getattr(g, "word", None) not in FILLER_WORDS and not g.term_set <= self._filler
        ]

    def _title_hits(self, query: str, ids: Sequence[str]) -> list[int]:
        groups = self._content_groups(query)
        return [sum(bool(g.term_set & self._title_terms[self._row[pid]]) for g in groups) for pid in ids]

    def _coverage(self, query: str, ids: Sequence[str]) -> list[float]:
        """idf-weighted share of the query's content words found in each passage.

        ``cov(q, p) = Σ_{g ∈ G(q), g ∩ T(p) ≠ ∅} idf(g) / Σ_{g ∈ G(q)} idf(g)`` over the analyzer's
        word groups ``G(q)`` minus question/filler words ("how", "can", "吗", "多久" …);
        ``idf(g) = max_{t ∈ g} ln(1 + (N − df_t + 0.5)/(df_t + 0.5))`` over passages, so a word the
        help centre never mentions ("bitcoin") weighs the most and keeps the coverage low.
        """
        groups = self._content_groups(query)
        if not groups:
            return [0.0] * len(ids)
        n = len(self.passages)
        weights = np.array(
            [
                max(np.log1p((n - self._df_of(t) + 0.5) / (self._df_of(t) + 0.5)) for t in g.term_set)
                for g in groups
            ]
        )
        out = []
        for pid in ids:
            row = self._row[pid]
            hit = np.array([self._has(row, g.term_set) for g in groups])
            out.append(float(weights[hit].sum() / weights.sum()))
        return out

    def _has(self, row: int, terms: frozenset[str]) -> bool:
        # Chinese query words may be cut differently from the page ("天" vs the indexed "天内"):
        # a Han term also matches as a substring of the page text
        if terms & self._terms[row]:
            return True
        raw = self._raw[row]
        return any(CJK_RE.match(t) and t in raw for t in terms)

    def _df_of(self, term: str) -> int:
        if CJK_RE.match(term):
            return sum(term in raw for raw in self._raw)
        return self._df.get(term, 0)

    def _can_place(self, language: str) -> bool:
        # an English-only encoder (MiniLM, mpnet) maps Chinese to near-random vectors
        return self.vectors is not None and (language == "en" or self.multilingual)

    def _query_vector(self, query: str) -> np.ndarray | None:
        if self.vectors is None:
            return None
        return np.asarray(self.encoder.encode([query])[0], dtype=np.float32)

    # --- answering ----------------------------------------------------------------------------
    def answer(self, query: str, language: str | None = None, max_sentences: int = 3) -> Answer:
        """The grounded answer for ``query`` or a not-covered reply (``grounded=False``)."""
        language = language or detect_language(query)
        hits = self.retrieve(query, k=1, language=language)
        if not hits or hits[0][1] < self.min_confidence:
            conf = hits[0][1] if hits else 0.0
            return Answer(text=not_covered_text(language), body="", confidence=conf, grounded=False)
        passage, conf = hits[0]
        body = self.extract(query, passage, max_sentences=max_sentences)
        frame = (
            f"根据我们的帮助中心（{passage.title}）："
            if language == "zh"
            else f"According to our help centre ({passage.title}):"
        )
        sep = "" if language == "zh" else " "
        citation = Citation(passage.doc_id, passage.title, passage.url, passage.id)
        return Answer(
            text=f"{frame}{sep}{body}",
            body=body,
            confidence=conf,
            grounded=True,
            citations=[citation],
            passage=passage,
        )

    def extract(self, query: str, passage: Passage, max_sentences: int = 3) -> str:
        """The passage's sentences that share the most query terms (verbatim, original order)."""
        sentences = split_sentences(passage.text)
        if len(sentences) <= max_sentences:
            return passage.text
        sep = "" if passage.language.startswith("zh") else " "
        if self.crosslingual and _base_language(passage.language) != detect_language(query):
            # no shared words across languages: the sentences closest to the question in the encoder
            sims = self.encoder.encode(sentences) @ self._query_vector(query)
            keep = sorted(np.argsort(-sims, kind="stable")[:max_sentences].tolist())
            return sep.join(sentences[i] for i in keep)
        analyzer = self.index.analyzer
        q_terms = set(analyzer.analyze(query))
        overlap = [len(q_terms & set(analyzer.analyze(s))) for s in sentences]
        best = max(overlap)
        if best == 0:
            keep = list(range(max_sentences))
        else:
            ranked = sorted(range(len(sentences)), key=lambda i: (-overlap[i], i))
            keep = sorted(i for i in ranked[:max_sentences] if overlap[i] >= max(1, best // 2))
        return sep.join(sentences[i] for i in keep)

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.index.save(path / "index")
        meta = {
            "format": 1,
            "min_confidence": self.min_confidence,
            "encoder_spec": self.encoder_spec,
            "encoder_name": self.encoder_name,
            "semantic": self.semantic,
            "crosslingual": self.crosslingual,
            "crosslingual_similarity": self.crosslingual_similarity,
            "passages": [asdict(p) for p in self.passages],
        }
        (path / "knowledge.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if self.vectors is not None:
            np.save(path / "vectors.npy", self.vectors, allow_pickle=False)
        return path

    @classmethod
    def load(cls, path: str | Path, *, encoder: Any = None) -> KnowledgeBase:
        from shopmind.search.lexical import LexicalIndex

        path = Path(path)
        meta_file = path / "knowledge.json"
        if not meta_file.exists():
            raise ArtifactError("knowledge base not found", value=str(meta_file))
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != 1:
            raise ArtifactError("unsupported knowledge format", value=meta.get("format"), expected="1")
        passages = [Passage(**p) for p in meta["passages"]]
        vec_file = path / "vectors.npy"
        vectors = np.load(vec_file, allow_pickle=False) if vec_file.exists() else None
        return cls(
            passages,
            LexicalIndex.load(path / "index"),
            vectors=vectors,
            encoder=encoder,
            min_confidence=float(meta["min_confidence"]),
            encoder_spec=meta.get("encoder_spec"),
            encoder_name=meta.get("encoder_name"),
            semantic=meta.get("semantic"),  # None (older files): vectors meant the semantic mix
            crosslingual=bool(meta.get("crosslingual", False)),
            crosslingual_similarity=float(meta.get("crosslingual_similarity", 0.3)),
        )


def not_covered_text(language: str) -> str:
    if language == "zh":
        return "抱歉，我们的帮助中心没有找到关于这个问题的说明。需要我为您转接人工客服吗？"
    return (
        "Sorry, I couldn't find this in our help centre, so I won't guess. "
        "Would you like me to pass your question to a member of our team?"
    )
