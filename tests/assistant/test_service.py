"""The pipeline component: train(ctx, out_dir) → AssistantService.load; artifacts without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shopmind.assistant import service as assistant_service
from shopmind.assistant.intents import read_intent_csv
from shopmind.capability import TrainContext
from shopmind.config import Settings
from shopmind.errors import ArtifactError, UnknownIdError
from shopmind.evaluate.assistant import evaluate_intents, sample_shots


def test_pipeline_component_trains_and_serves(store, tmp_path, encoder):
    ctx = TrainContext(store=store, settings=Settings())
    info = assistant_service.train(ctx, tmp_path / "assistant")
    assert assistant_service.NAME == "assistant"
    assert (
        info["intent_classes"] >= 14
        and info["passages"] > 0
        and info["sentiment"] in {"classifier", "lexicon"}
    )
    files = [p for p in (tmp_path / "assistant").rglob("*") if p.is_file()]
    assert files and all(p.suffix in {".json", ".npz", ".npy"} for p in files), files
    svc = assistant_service.AssistantService.load(tmp_path / "assistant", store, encoder=encoder)
    reply = svc.chat("what payment methods do you accept?")
    assert reply.citations and reply.tool == "knowledge"
    assert (
        json.loads((tmp_path / "assistant" / "intents" / "intents.json").read_text())["config"]["model"]
        == "ensemble"
    )


def test_pipeline_passes_the_finetune_setting(store, tmp_path, monkeypatch):
    seen = {}

    def fake_train(store, out_dir, *, intent_config=None, **kwargs):
        seen["config"] = intent_config
        return {
            "intents": {"classes": ["a"], "threshold": 0.0},
            "knowledge": {"passages": 0},
            "sentiment": {"method": "lexicon"},
        }

    monkeypatch.setattr(assistant_service, "train_assistant", fake_train)
    settings = Settings.model_validate(
        {"training": {"assistant_finetune_epochs": 3, "assistant_encoder": "mpnet"}}
    )
    assistant_service.train(TrainContext(store=store, settings=settings), tmp_path)
    assert (seen["config"].finetune_epochs, seen["config"].encoder) == (3, "mpnet")
    assistant_service.train(TrainContext(store=store, settings=Settings()), tmp_path)
    # off by default: `make demo` stays fast and needs only the packaged MiniLM
    assert (seen["config"].finetune_epochs, seen["config"].encoder) == (0, None)


def test_describe_and_insights(service, store):
    item_id = store.reviews_frame()["item_id"].value_counts().index[0]
    desc = service.describe(item_id, style="bullet", language="zh")
    assert desc.claims[0].value == store.get_item(item_id).title
    ins = service.review_insights(item_id)
    assert ins["item_id"] == item_id and ins["n_reviews"] > 0
    with pytest.raises(UnknownIdError):
        service.describe("NOPE-1")
    with pytest.raises(UnknownIdError):
        service.review_insights("NOPE-1")


def test_load_without_artifacts(tmp_path, store):
    with pytest.raises(ArtifactError):
        assistant_service.AssistantService.load(tmp_path, store)


def test_banking77_tfidf_floor(datasets_dir):
    """Quality floor on real data, kept CI-sized: TF-IDF only, 10-shot sample, full test set."""
    d = datasets_dir / "banking77"
    tr_t, tr_l = read_intent_csv(d / "train.csv")
    te_t, te_l = read_intent_csv(d / "test.csv")
    idx = sample_shots(tr_l, 10, 42)
    assert len(idx) == 770 and np.array_equal(idx, sample_shots(tr_l, 10, 42))
    rows = evaluate_intents(tr_t, tr_l, te_t, te_l, model="tfidf", shots=10, seed=42)
    assert rows[-1]["metrics"]["accuracy"] >= 0.70, rows


def test_empty_shop_trains_and_falls_back(tmp_path):
    """No documents, no reviews: intents still work, policy questions are not answered from nowhere."""
    from shopmind.assistant.intents import IntentConfig
    from shopmind.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    info = assistant_service.train_assistant(store, tmp_path / "a", intent_config=IntentConfig(model="tfidf"))
    assert info["knowledge"]["passages"] == 0 and info["sentiment"]["method"] == "lexicon"
    svc = assistant_service.AssistantService.load(tmp_path / "a", store)
    assert svc.chat("hello").intent == "greeting"
    r = svc.chat("what is your return policy?")
    assert not r.citations and r.tool is None and not r.grounded
    store.close()
