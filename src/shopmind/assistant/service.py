"""The assistant component: training (intents, knowledge index, review sentiment) and serving.

``train(ctx, out_dir)`` writes::

    out_dir/intents/     IntentClassifier (built-in bilingual shop intents, + shop's own file if present)
    out_dir/knowledge/   KnowledgeBase over store.documents() (absent when the shop has no documents)
                         with cross-language answers through the multilingual encoder
                         (knowledge_encoder_spec: training.assistant_encoder, else search.multilingual_encoder)
    out_dir/sentiment/   ReviewAnalyzer over store.reviews_frame() (classifier or lexicon fallback)
    out_dir/assistant.json

``AssistantService.load(path, store, search=None, recommend=None, settings=None)`` serves
``chat``, ``describe`` and ``review_insights``. The LLM phraser is used only when
``settings.llm.enabled``; the limits of anonymous order verification come from
``settings.assistant`` (:class:`~shopmind.assistant.tools.VerifyLimits`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from shopmind.assistant.dialogue import Assistant, ChatReply
from shopmind.assistant.intents import IntentClassifier, IntentConfig, read_intent_csv
from shopmind.assistant.knowledge import KnowledgeBase, is_multilingual_encoder
from shopmind.assistant.tools import Client, VerificationGuard, VerifyLimits
from shopmind.capability import TrainContext, progress_of
from shopmind.content.descriptions import Description, describe
from shopmind.content.sentiment import ReviewAnalyzer
from shopmind.errors import ArtifactError, ConfigError, UnknownIdError
from shopmind.store.base import Store

log = logging.getLogger(__name__)

NAME = "assistant"


def builtin_intents() -> tuple[list[str], list[str]]:
    """The packaged bilingual shop intent set (``assistant/resources/shop_intents.csv``)."""
    ref = resources.files("shopmind.assistant") / "resources" / "shop_intents.csv"
    with resources.as_file(ref) as path:
        return read_intent_csv(path)


def train_assistant(
    store: Any,
    out_dir: Path,
    *,
    intent_config: IntentConfig | None = None,
    extra_intents: tuple[list[str], list[str]] | None = None,
    encoder: Any = None,
    knowledge_embeddings: bool = False,
    knowledge_encoder: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fit the three models from ``store`` into ``out_dir``; returns manifest info.

    ``knowledge_encoder``: spec of a multilingual encoder (``get_encoder``, e.g. ``"use-multilingual"``)
    that embeds the help-centre passages for cross-language answers (a Chinese question, an English
    page); None = lexical knowledge answers only (plus ``knowledge_embeddings``' semantic mix with
    ``encoder``). ``progress(done, 3)`` after each model (intents, knowledge, sentiment)."""
    report = progress or (lambda done, total: None)
    report(0, 3)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts, labels = builtin_intents()
    if extra_intents is not None:
        texts, labels = texts + list(extra_intents[0]), labels + list(extra_intents[1])
    cfg = intent_config or IntentConfig()
    try:
        clf = IntentClassifier(cfg, encoder=encoder).fit(texts, labels)
    except ConfigError as exc:  # the sentence encoder is unavailable: the TF-IDF model alone still works
        log.warning("intent embeddings unavailable (%s); training the TF-IDF intent model only", exc)
        cfg = cfg.model_copy(update={"model": "tfidf"})
        clf = IntentClassifier(cfg).fit(texts, labels)
    clf.save(out_dir / "intents")
    report(1, 3)

    docs = store.documents()
    n_passages = 0
    kb_encoder: str | None = None
    if docs:
        kb = None
        if knowledge_encoder is not None:
            try:
                kb = KnowledgeBase.build(
                    docs,
                    use_embeddings=knowledge_embeddings,
                    encoder_spec=knowledge_encoder,
                    crosslingual=True,
                )
            except ConfigError as exc:  # the encoder's package is missing: lexical answers still work
                log.warning(
                    "knowledge encoder %r unavailable (%s); lexical answers only", knowledge_encoder, exc
                )
        if kb is None:
            kb = KnowledgeBase.build(docs, use_embeddings=knowledge_embeddings, encoder=encoder)
        kb.save(out_dir / "knowledge")
        n_passages = len(kb.passages)
        kb_encoder = (kb.encoder_name or kb.encoder_spec) if kb.vectors is not None else None
    report(2, 3)

    reviews = store.reviews_frame()
    texts_r = (
        (reviews["title"].fillna("") + " " + reviews["text"].fillna("")).str.strip().tolist()
        if len(reviews)
        else []
    )
    analyzer = ReviewAnalyzer.train(texts_r, reviews["rating"].tolist() if len(reviews) else [])
    analyzer.save(out_dir / "sentiment")
    report(3, 3)
    info = {
        "intents": {"n_examples": len(texts), "classes": clf.classes_, "model": cfg.model, **clf.calibration},
        "knowledge": {
            "documents": len(docs),
            "passages": n_passages,
            "encoder": kb_encoder,
        },
        "sentiment": {"reviews": len(texts_r), "method": analyzer.method},
    }
    (out_dir / "assistant.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return info


def train(ctx: TrainContext, out_dir: Path) -> dict[str, Any]:
    """Pipeline entry point (see :mod:`shopmind.pipeline`)."""
    ctx.progress("assistant: intents, knowledge, sentiment")
    training = ctx.settings.training
    cfg = IntentConfig(finetune_epochs=training.assistant_finetune_epochs, encoder=training.assistant_encoder)
    steps = progress_of(ctx)
    info = train_assistant(
        ctx.store,
        out_dir,
        intent_config=cfg,
        knowledge_encoder=knowledge_encoder_spec(
            training.assistant_encoder, ctx.settings.search.multilingual_encoder
        ),
        progress=lambda done, total: steps.count(done, total, "models"),
    )
    return {
        "intent_classes": len(info["intents"]["classes"]),
        "intent_threshold": info["intents"].get("threshold"),
        "passages": info["knowledge"]["passages"],
        "sentiment": info["sentiment"]["method"],
    }


def knowledge_encoder_spec(assistant_encoder: str | None, multilingual_encoder: str | None) -> str | None:
    """The encoder of cross-language knowledge answers: ``training.assistant_encoder`` when it is
    multilingual (one encoder for intents and answers), else search's ``multilingual_encoder`` (the
    encoder that already places Chinese queries beside an English-only main encoder); None when
    neither is multilingual."""
    for spec in (assistant_encoder, multilingual_encoder):
        if is_multilingual_encoder(spec):
            return spec
    return None


class AssistantService:
    """Serving side: chat turns, product descriptions and review insights."""

    def __init__(
        self,
        store: Any,
        assistant: Assistant,
        analyzer: ReviewAnalyzer,
        llm: Any = None,
    ) -> None:
        self.store = store
        self.assistant = assistant
        self.analyzer = analyzer
        self.llm = llm

    @classmethod
    def load(
        cls,
        path: str | Path,
        store: Store,
        search: Any = None,
        recommend: Any = None,
        settings: Any = None,
        *,
        encoder: Any = None,
        llm: Any = None,
        **_: Any,
    ) -> AssistantService:
        path = Path(path)
        if not (path / "intents").is_dir():
            raise ArtifactError("assistant artifacts not found", value=str(path), expected="a trained run")
        intents = IntentClassifier.load(path / "intents", encoder=encoder)
        knowledge = KnowledgeBase.load(path / "knowledge") if (path / "knowledge").is_dir() else None
        analyzer = (
            ReviewAnalyzer.load(path / "sentiment") if (path / "sentiment").is_dir() else ReviewAnalyzer()
        )
        if llm is None and settings is not None and settings.llm.enabled:
            from shopmind.assistant.llm import LLMClient, LLMPhraser

            llm = LLMPhraser(LLMClient.from_settings(settings))
        guard = VerificationGuard(store, VerifyLimits.from_settings(settings))
        assistant = Assistant(
            store,
            intents,
            knowledge,
            search=search,
            recommend=recommend,
            llm=llm,
            guard=guard,
            timezone=settings.assistant.timezone if settings is not None else "UTC",
        )
        assistant.products.warm()
        return cls(store, assistant, analyzer, llm)

    def chat(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
        language: str | None = None,
        client: Client | None = None,
    ) -> ChatReply:
        """One chat turn; ``user_id`` and ``client`` must come from authentication, never from the message."""
        return self.assistant.chat(
            message, conversation_id=conversation_id, user_id=user_id, language=language, client=client
        )

    def describe(self, item_id: str, style: str = "short", language: str = "en") -> Description:
        item = self.store.get_item(item_id)
        if item is None:
            raise UnknownIdError("unknown item", value=item_id, expected="an item id in the catalogue")
        return describe(item, style=style, language=language, llm=self.llm)

    def review_insights(self, item_id: str) -> dict[str, Any]:
        if self.store.get_item(item_id) is None:
            raise UnknownIdError("unknown item", value=item_id, expected="an item id in the catalogue")
        frame = self.store.reviews_frame(item_id)
        return {"item_id": item_id, **self.analyzer.insights(frame)}
