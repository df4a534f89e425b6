"""/admin/quality serves the report cached per data version instead of recomputing it on every load.

Before: every call ran ``quality_report`` over the whole store (21.7 s on the demo shop) and the
response had no ``computed_at`` / ``fresh`` / ``cached``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apishop import Shop, catalogue

from shopmind.ingest import quality_cache
from shopmind.ingest.quality_cache import QUALITY_FILE, data_version, ensure_quality_report


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the full audits (``quality_report`` as the cache module calls it)."""
    seen: list[int] = []
    real = quality_cache.quality_report

    def counted(store: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(1)
        return real(store, **kwargs)

    monkeypatch.setattr(quality_cache, "quality_report", counted)
    return seen


def test_second_load_is_served_from_the_cache(seeded: Shop, calls: list[int]) -> None:
    h = seeded.h("admin")
    first = seeded.client.get("/admin/quality", headers=h).json()
    assert len(calls) == 1 and first["cached"] is False and first["fresh"] is True
    assert first["counts"]["items"] == 12 and first["computed_at"]
    second = seeded.client.get("/admin/quality", headers=h).json()
    assert len(calls) == 1, "the second load recomputed the report"
    assert second["cached"] is True and second["fresh"] is True
    assert second["computed_at"] == first["computed_at"]
    assert second["findings"] == first["findings"]
    # the cache is a plain JSON file under reports_dir, and not listed as an evaluation report
    on_disk = json.loads((seeded.settings.reports_dir / QUALITY_FILE).read_text(encoding="utf-8"))
    assert on_disk["data_version"]["items"] == 12
    assert seeded.client.get("/admin/reports", headers=h).json()["reports"] == []


def test_a_write_invalidates_the_cache(seeded: Shop, calls: list[int]) -> None:
    h = seeded.h("admin")
    seeded.client.get("/admin/quality", headers=h)
    assert len(calls) == 1
    # a new item changes a count
    item = catalogue(13)[-1]
    assert seeded.client.post("/items", json=[item], headers=seeded.h("ingest")).status_code == 200
    after_insert = seeded.client.get("/admin/quality", headers=h).json()
    assert len(calls) == 2 and after_insert["cached"] is False and after_insert["counts"]["items"] == 13
    # an edited item changes no count, but the catalogue change sequence moves
    renamed = catalogue(13)[-1] | {"title": "Wireless headphones model 0", "brand": "Acme"}
    assert seeded.client.post("/items", json=[renamed], headers=seeded.h("ingest")).status_code == 200
    report = seeded.client.get("/admin/quality", headers=h).json()
    assert len(calls) == 3 and report["cached"] is False and report["counts"]["items"] == 13
    assert "duplicate_items" in {f["code"] for f in report["findings"]}  # the edit is seen
    # search and click logs are not audited: they leave the cache valid
    seeded.client.get("/search", params={"q": "shoe"}, headers=seeded.h("read"))
    assert seeded.client.get("/admin/quality", headers=h).json()["cached"] is True
    assert len(calls) == 3


def test_refresh_true_recomputes(seeded: Shop, calls: list[int]) -> None:
    h = seeded.h("admin")
    seeded.client.get("/admin/quality", headers=h)
    forced = seeded.client.get("/admin/quality", params={"refresh": "true"}, headers=h).json()
    assert len(calls) == 2 and forced["cached"] is False
    assert seeded.client.get("/admin/quality", headers=h).json()["cached"] is True
    assert len(calls) == 2


def test_unreadable_or_foreign_cache_is_recomputed(seeded: Shop, calls: list[int]) -> None:
    path = seeded.settings.reports_dir / QUALITY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert seeded.client.get("/admin/quality", headers=seeded.h("admin")).json()["cached"] is False
    # a report of another store (e.g. written by the demo before this store existed) is not reused
    other = json.loads(path.read_text(encoding="utf-8"))
    other["data_version"] = other["data_version"] | {"store": "sqlite:///elsewhere.db"}
    path.write_text(json.dumps(other), encoding="utf-8")
    assert seeded.client.get("/admin/quality", headers=seeded.h("admin")).json()["cached"] is False
    assert len(calls) == 2


def test_ensure_recomputes_only_when_stale(seeded: Shop, calls: list[int]) -> None:
    store, reports = seeded.engine.store, seeded.settings.reports_dir
    assert ensure_quality_report(store, reports) is True
    assert ensure_quality_report(store, reports) is False
    assert len(calls) == 1
    before = data_version(store)
    assert seeded.client.post("/events", json=[_event()], headers=seeded.h("ingest")).status_code == 200
    assert data_version(store)["events"] == before["events"] + 1
    assert ensure_quality_report(store, reports) is True and len(calls) == 2


def _event() -> dict[str, Any]:
    return {
        "id": "e-new-1",
        "user_id": "u1",
        "item_id": "sku-3",
        "type": "view",
        "timestamp": "2026-01-06T10:00:00Z",
    }


def test_training_from_the_api_refreshes_a_stale_report(seeded: Shop, calls: list[int]) -> None:
    """Before: only the CLI's ingest and train refreshed the cache, so the first dashboard visit
    after a write through the API and a training from the dashboard recomputed it."""
    h = seeded.h("admin")
    seeded.client.get("/admin/quality", headers=h)
    assert seeded.client.post("/events", json=[_event()], headers=seeded.h("ingest")).status_code == 200
    seeded.engine.train(["recommend"])
    assert len(calls) == 2  # recomputed once, by the training
    report = seeded.client.get("/admin/quality", headers=h).json()
    assert report["cached"] is True and report["fresh"] is True and len(calls) == 2
    seeded.engine.train(["recommend"])  # unchanged data: the cached report stays
    assert len(calls) == 2
