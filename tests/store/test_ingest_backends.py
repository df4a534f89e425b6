"""Ingest end to end on every store backend (SQLite and the real PostgreSQL server)."""

from __future__ import annotations

import json
from pathlib import Path

from shopmind.ingest import ingest_directory, ingest_file
from shopmind.ingest.quality import quality_report


def test_ingest_directory_and_reingest(store, tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        "id,title,price\nA,Lamp,10\nB,Desk,-1\nC,Chair,30\n", encoding="utf-8"
    )
    (tmp_path / "users.jsonl").write_text("\n".join(json.dumps({"id": f"u{i}"}) for i in range(3)) + "\n")
    (tmp_path / "events.csv").write_text(
        "id,user_id,item_id,type,value,timestamp\n"
        "e1,u0,A,view,,2024-01-01T00:00:00Z\n"
        "e2,u1,B,view,,2024-01-01T00:00:01Z\n"  # B was rejected: unknown item
        "e3,u2,C,rating,5,1704067202\n"
        "e3,u2,C,rating,5,1704067202\n"  # duplicate id in the file
        "e4,u9,A,view,,2024-01-01\n",  # unknown user
        encoding="utf-8",
    )
    (tmp_path / "sales.csv").write_text(
        "item_id,date,units,promo\nA,2024-01-01,2,true\nA,2024-01-02,0,false\n"
    )
    reports = {r.kind: r for r in ingest_directory(store, tmp_path, chunk_rows=2)}
    assert (reports["items"].inserted, reports["items"].rejected) == (2, 1)
    ev = reports["events"]
    assert (ev.inserted, ev.rejected) == (2, 3)
    assert [(e.line, e.field) for e in ev.errors] == [(3, "item_id"), (5, "id"), (6, "user_id")]
    assert len(ev.chunks) == 3 and reports["sales"].inserted == 2
    again = ingest_file(store, "events", tmp_path / "events.csv")
    assert again.inserted == 0 and again.duplicates == 2
    assert ingest_file(store, "sales", tmp_path / "sales.csv").duplicates == 2
    counts = store.counts()
    assert (counts["items"], counts["users"], counts["events"], counts["sales"]) == (2, 3, 2, 2)
    rep = quality_report(store)
    assert rep["counts"]["events"] == 2 and rep["summary"]["error"] == 0
