"""Arbitrary CSV rows through ingest (hypothesis): each row is stored or rejected with its line, nothing
crashes, and no valid row is lost."""

from __future__ import annotations

import csv
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopmind.ingest import ingest_file
from shopmind.store.sql import SqlStore

ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "-3", "1e309", "nan", "inf", "0", "12.50", "abc", "中文", "\u200b", "a" * 5000]
    ),
    st.text(alphabet="0123456789.,-+eE ", max_size=12),
)
VALID = st.fixed_dictionaries(
    {
        "title": st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30),
        "price": st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
        "category": st.sampled_from(["Shoes > Running", "Audio", "家居 > 厨房", ""]),
    }
)
ARBITRARY = st.fixed_dictionaries({"title": ANY_TEXT, "price": ANY_TEXT, "category": ANY_TEXT})
ROWS = st.lists(st.tuples(st.booleans(), VALID, ARBITRARY), min_size=1, max_size=25)


@settings(
    max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(rows=ROWS)
def test_arbitrary_item_rows(tmp_path_factory, rows) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "items.csv"
    written = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "price", "category"])
        for n, (is_valid, good, anything) in enumerate(rows):
            fields = good if is_valid else anything
            # csv cannot carry NUL; surrogates cannot be written as UTF-8
            clean = {
                k: v.replace("\x00", "").encode("utf-8", "replace").decode("utf-8") for k, v in fields.items()
            }
            written.append((f"sku{n}", is_valid, clean))
            w.writerow([f"sku{n}", clean["title"], clean["price"], clean["category"]])
    store = SqlStore(f"sqlite:///{tmp / 'shop.db'}")
    try:
        report = ingest_file(store, "items", path, rejects=tmp / "rejects.jsonl")
        stored = store.item_ids()
    finally:
        store.close()
    rejects = (
        [json.loads(line) for line in (tmp / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
        if (tmp / "rejects.jsonl").exists()
        else []
    )
    assert report.rows == len(rows)
    assert report.inserted + report.updated + report.duplicates + report.rejected == report.rows
    rejected_lines = {r["line"] for r in rejects}
    assert len(rejects) == report.rejected
    for line, (sku, is_valid, _) in enumerate(written, start=2):
        if is_valid:
            assert sku in stored, (sku, rejects)  # nothing valid is lost
        # every row is accounted for: stored, or rejected with its line and a message
        assert (sku in stored) != (line in rejected_lines), (sku, line)
    for r in rejects:
        assert r["message"] and r["line"] >= 2
