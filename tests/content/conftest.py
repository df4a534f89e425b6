"""Fixtures: the tiny synthetic shop (generated once), a SQLite store per module, a trained assistant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shopmind.data.schema import Document, Item, Order, Review, User


@pytest.fixture(scope="session")
def shop_dir(tmp_path_factory) -> Path:
    from shopmind.datasets.synthetic import ShopConfig
    from shopmind.datasets.synthetic.generate import generate

    out = tmp_path_factory.mktemp("shop")
    generate(ShopConfig.preset("tiny"), out)
    return out


def _records(path: Path, model):
    with path.open(encoding="utf-8") as fh:
        return [model(**json.loads(line)) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def shop_db(shop_dir, tmp_path_factory) -> Path:
    """A SQLite file with the tiny shop's catalogue, customers, orders, help pages and reviews."""
    from shopmind.store import open_store

    db = tmp_path_factory.mktemp("db") / "shop.db"
    store = open_store(f"sqlite:///{db}")
    store.upsert_items(_records(shop_dir / "items.jsonl", Item))
    store.upsert_users(_records(shop_dir / "users.jsonl", User))
    store.upsert_orders(_records(shop_dir / "orders.jsonl", Order))
    store.upsert_documents(_records(shop_dir / "documents.jsonl", Document))
    store.upsert_reviews(_records(shop_dir / "reviews.jsonl", Review))
    store.close()
    return db


@pytest.fixture
def store(shop_db, tmp_path):
    """A private copy of the tiny shop's store (tests may cancel orders and create tickets)."""
    from shopmind.store import open_store

    db = tmp_path / "shop.db"
    shutil.copy(shop_db, db)
    s = open_store(f"sqlite:///{db}")
    yield s
    s.close()


@pytest.fixture(scope="session")
def trained_dir(shop_db, tmp_path_factory) -> Path:
    """Assistant artifacts trained on the tiny shop (TF-IDF intents: the fast path for dialogue tests)."""
    from shopmind.assistant.intents import IntentConfig
    from shopmind.assistant.service import train_assistant
    from shopmind.store import open_store

    out = tmp_path_factory.mktemp("assistant")
    store = open_store(f"sqlite:///{shop_db}")
    train_assistant(store, out, intent_config=IntentConfig(model="tfidf"))
    store.close()
    return out


@pytest.fixture
def service(trained_dir, store):
    from shopmind.assistant.service import AssistantService

    return AssistantService.load(trained_dir, store)


@pytest.fixture(scope="session")
def encoder():
    from shopmind.embeddings import get_encoder

    return get_encoder()
