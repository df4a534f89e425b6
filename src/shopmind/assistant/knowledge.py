"""Grounded answers from the shop's help-centre documents.

Documents are split into paragraphs (*passages*); passages are indexed with shopmind's multi-field
BM25 (:class:`shopmind.search.lexical.LexicalIndex`, English + Chinese analyzers, fields
``title`` ×2 and ``text`` ×1). Optionally the packaged sentence encoder adds a semantic score.

**Confidence** of the best passage ``p`` for query ``q``:

* lexical coverage ``cov = |{query words matched in p}| / |query words|`` (words after the search
  analyzer: stop words dropped, stems, Chinese words/bigrams);
* with embeddings: ``conf = ½·cov + ½·max(0, cos(e_q, e_p))``, otherwise ``conf = cov``.

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
_FILLER_ZH = "吗 呢 吧 啊 什么 怎么 怎样 如何 多久 多少 多长时间 可以 能 能否 请问 请 你们 你 我 我的 是 的 了 有 有没有 一下 想 要 需要 哪些 哪里 几天 时候"
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
    ) -> None:
        self.passages = passages
        self.by_id = {p.id: p for p in passages}
        self._row = {p.id: i for i, p in enumerate(passages)}
        self.index = index
        self.vectors = vectors
        self._encoder = encoder
        self.min_confidence = min_confidence
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
    ) -> KnowledgeBase:
        from shopmind.search.lexical import LexicalIndex

        passages = [p for d in documents for p in split_passages(d)]
        if not passages:
            raise DataError("no help-centre documents to index", expected="at least one Document")
        rows = [{"id": p.id, "title": p.title, "text": p.text} for p in passages]
        index = LexicalIndex.build(rows, fields={"title": 2.0, "text": 1.0}, id_field="id")
        vectors = None
        if use_embeddings:
            if encoder is None:
                from shopmind.embeddings import get_encoder

                encoder = get_encoder()
            vectors = encoder.encode([f"{p.title}. {p.text}" for p in passages])
        return cls(passages, index, vectors=vectors, encoder=encoder, min_confidence=min_confidence)

    @property
    def encoder(self) -> Any:
        if self._encoder is None and self.vectors is not None:
            from shopmind.embeddings import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    # --- retrieval ----------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 3, language: str | None = None) -> list[tuple[Passage, float]]:
        """Top ``k`` passages with their confidence (see module docstring), best first.

        Passages in the query's language are preferred; other languages are used only when none
        in that language matches.
        """
        language = language or detect_language(query)
        hits = self.index.search(query, k=max(k * 4, 10))
        if not hits:
            return []
        coverage = self._coverage(query, [h[0] for h in hits])
        sims = self._similarities(query, [h[0] for h in hits])
        scored = []
        for (pid, _bm25), cov, sim in zip(hits, coverage, sims, strict=True):
            conf = cov if sim is None else 0.5 * cov + 0.5 * max(0.0, sim)
            scored.append((self.by_id[pid], float(conf)))
        titles = self._title_hits(query, [h[0] for h in hits])
        ranked = [(p, c, t) for (p, c), t in zip(scored, titles, strict=True)]
        same = [r for r in ranked if r[0].language.split("-")[0] == language]
        pool = same or ranked
        # ties in confidence: a page whose title names the topic first, then BM25 order (stable sort)
        pool.sort(key=lambda r: (-r[1], -r[2]))
        return [(p, c) for p, c, _ in pool[:k]]

    def _title_hits(self, query: str, ids: Sequence[str]) -> list[int]:
        groups = [g for g in self.index.groups(query) if not g.term_set <= self._filler]
        return [sum(bool(g.term_set & self._title_terms[self._row[pid]]) for g in groups) for pid in ids]

    def _coverage(self, query: str, ids: Sequence[str]) -> list[float]:
        """idf-weighted share of the query's content words found in each passage.

        ``cov(q, p) = Σ_{g ∈ G(q), g ∩ T(p) ≠ ∅} idf(g) / Σ_{g ∈ G(q)} idf(g)`` over the analyzer's
        word groups ``G(q)`` minus question/filler words ("how", "can", "吗", "多久" …);
        ``idf(g) = max_{t ∈ g} ln(1 + (N − df_t + 0.5)/(df_t + 0.5))`` over passages, so a word the
        help centre never mentions ("bitcoin") weighs the most and keeps the coverage low.
        """
        groups = [g for g in self.index.groups(query) if not g.term_set <= self._filler]
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

    def _similarities(self, query: str, ids: Sequence[str]) -> list[float | None]:
        if self.vectors is None or detect_language(query) != "en":
            # the packaged encoder is English-only; Chinese relies on lexical coverage
            return [None] * len(ids)
        q = self.encoder.encode([query])[0]
        rows = [self._row[i] for i in ids]
        return [float(self.vectors[r] @ q) for r in rows]

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
        analyzer = self.index.analyzer
        q_terms = set(analyzer.analyze(query))
        overlap = [len(q_terms & set(analyzer.analyze(s))) for s in sentences]
        best = max(overlap)
        if best == 0:
            keep = list(range(max_sentences))
        else:
            ranked = sorted(range(len(sentences)), key=lambda i: (-overlap[i], i))
            keep = sorted(i for i in ranked[:max_sentences] if overlap[i] >= max(1, best // 2))
        sep = "" if passage.language.startswith("zh") else " "
        return sep.join(sentences[i] for i in keep)

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.index.save(path / "index")
        meta = {
            "format": 1,
            "min_confidence": self.min_confidence,
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
        )


def not_covered_text(language: str) -> str:
    if language == "zh":
        return "抱歉，我们的帮助中心没有找到关于这个问题的说明。需要我为您转接人工客服吗？"
    return (
        "Sorry, I couldn't find this in our help centre, so I won't guess. "
        "Would you like me to pass your question to a member of our team?"
    )
