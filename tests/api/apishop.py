"""API fixtures: a real SQLite store in a temp folder, real keys, the real app (TestClient)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.auth import create_key, ensure_demo_keys
from shopmind.config import Settings
from shopmind.engine import Engine


def make_settings(root: Path, **server: Any) -> Settings:
    return Settings(
        store_url=f"sqlite:///{root / 'shop.db'}",
        artifacts_dir=root / "artifacts",
        reports_dir=root / "reports",
        server=server or {},
    )


def catalogue(n: int = 12) -> list[dict[str, Any]]:
    cats = [["Electronics", "Audio"], ["Electronics", "Phones"], ["Home", "Kitchen"]]
    brands = ["Acme", "Globex", "Initech"]
    return [
        {
            "id": f"sku-{i}",
            "title": f"{['Wireless headphones', 'Smartphone case', 'Coffee grinder'][i % 3]} model {i}",
            "description": f"A fine product number {i}",
            "category": cats[i % 3],
            "brand": brands[i % 3],
            "price": 10.0 + i,
            "stock": 0 if i == 5 else 20,
        }
        for i in range(n)
    ]


def events_for(n_users: int = 8, n_items: int = 12, start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    k = 0
    for u in range(n_users):
        for j in range(4):
            item = (u + j * 3) % n_items
            kind = "purchase" if j == 0 else "view"
            out.append(
                {
                    "id": f"e-{u}-{j}",
                    "user_id": f"u{u}",
                    "item_id": f"sku-{item}",
                    "type": kind,
                    "timestamp": (start + timedelta(hours=k)).isoformat(),
                }
            )
            k += 1
    return out


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class Shop:
    def __init__(self, client: TestClient, engine: Engine, keys: dict[str, str], settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.keys = keys
        self.settings = settings

    def h(self, scope: str) -> dict[str, str]:
        return auth(self.keys[scope])

    def bound_key(self, user_id: str) -> dict[str, str]:
        _, secret = create_key(self.engine.store, "read", name=f"customer {user_id}", user_id=user_id)
        return auth(secret)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    settings = make_settings(tmp_path, max_body_bytes=64 * 1024)
    engine = Engine.open(settings)
    keys = ensure_demo_keys(engine.store)
    app = create_app(engine, watch_interval_s=None)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Shop(client, engine, keys, settings)
    engine.close()


@pytest.fixture
def seeded(shop: Shop) -> Shop:
    """A shop with 12 items, 8 users, 32 events and one order per user, all written through the API."""
    c = shop.client
    assert c.post("/items", json=catalogue(), headers=shop.h("ingest")).status_code == 200
    users = [{"id": f"u{u}", "email": f"u{u}@example.com"} for u in range(8)]
    assert c.post("/users", json=users, headers=shop.h("ingest")).status_code == 200
    assert c.post("/events", json=events_for(), headers=shop.h("ingest")).status_code == 200
    orders = [
        {
            "id": f"o{u}",
            "user_id": f"u{u}",
            "lines": [{"item_id": f"sku-{u}", "quantity": 1, "unit_price": 10.0 + u}],
            "status": "shipped",
            "created_at": "2026-01-05T10:00:00Z",
        }
        for u in range(8)
    ]
    assert c.post("/orders", json=orders, headers=shop.h("ingest")).status_code == 200
    return shop


FAST_TRAINING = {"recommenders": ["popularity", "item_knn"], "threads": 1}
"""Small, fast recommenders for tests (the full default set is exercised by the recommend tests)."""

FAST_COMPONENTS = ["recommend", "search", "forecast"]
"""What the API tests train: the assistant's intent model takes about a minute per training on 2 cores
and is trained (and its chat route tested) only in ``test_chat.py``."""


def seeded_engine(
    root: Path,
    n_items: int = 12,
    n_users: int = 8,
    order_date: Callable[[int], str] = lambda u: "2026-01-05T10:00:00Z",
) -> Engine:
    """An untrained engine over a tiny shop written through the store (items, users, events, orders);
    ``order_date(u)`` is the creation time of customer ``u``'s order."""
    from shopmind.data.schema import Event, Item, Order, User

    settings = make_settings(root).model_copy(
        update={"training": make_settings(root).training.model_copy(update=FAST_TRAINING)}
    )
    engine = Engine.open(settings)
    store = engine.store
    store.upsert_items([Item.model_validate(r) for r in catalogue(n_items)])
    store.upsert_users([User(id=f"u{u}", email=f"u{u}@example.com") for u in range(n_users)])
    store.add_events([Event.model_validate(e) for e in events_for(n_users, n_items)])
    store.upsert_orders(
        [
            Order.model_validate(
                {
                    "id": f"o{u}",
                    "user_id": f"u{u}",
                    "lines": [
                        # sku-0+3, sku-1+4, sku-2+5 are each bought together ≥ 2 times
                        {"item_id": f"sku-{u % 3}", "quantity": 1, "unit_price": 10.0},
                        {"item_id": f"sku-{u % 3 + 3}", "quantity": 1, "unit_price": 11.0},
                    ],
                    "status": "delivered",
                    "created_at": order_date(u),
                }
            )
            for u in range(n_users)
        ]
    )
    return engine


def trained_engine(
    root: Path, n_items: int = 12, n_users: int = 8, components: list[str] | None = None
) -> tuple[Engine, dict[str, str]]:
    """:func:`seeded_engine`, trained once; returns it and demo keys."""
    engine = seeded_engine(root, n_items, n_users)
    engine.train(components or FAST_COMPONENTS)
    return engine, ensure_demo_keys(engine.store)


class LiveServer:
    """The app served by a real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
