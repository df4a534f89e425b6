"""Ingest of a real public dataset (MovieLens-100k, RecBole atomic files) through the CLI and the library."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.store.sql import SqlStore


def test_movielens_100k_atomic_files(datasets_dir: Path, tmp_path: Path) -> None:
    ml = datasets_dir / "ml-100k"
    url = f"sqlite:///{tmp_path / 'ml.db'}"
    runner = CliRunner()

    def ingest(*args: str) -> dict:
        out = tmp_path / "r.json"
        res = runner.invoke(app, ["--store", url, "ingest", *args, "--format", "tsv", "--json", str(out)])
        assert res.exit_code == 0, res.output
        return json.loads(out.read_text())

    items = ingest(
        "items",
        str(ml / "ml-100k.item"),
        "--map",
        "item_id:token=id,movie_title:token_seq=title,release_year:token=attr_year,class:token_seq=category",
    )
    users = ingest(
        "users",
        str(ml / "ml-100k.user"),
        "--map",
        "user_id:token=id,age:token=attr_age,gender:token=attr_gender,occupation:token=attr_occupation,"
        "zip_code:token=attr_zip",
    )

    def ingest_ratings():
        return ingest(
            "events",
            str(ml / "ml-100k.inter"),
            "--set",
            "type=rating",
            "--map",
            "user_id:token=user_id,item_id:token=item_id,rating:float=value,timestamp:float=timestamp",
        )

    events = ingest_ratings()
    assert users["inserted"] == 943 and users["rejected"] == 0
    assert items["inserted"] == 1682 and items["rejected"] == 0
    assert events["rows"] == 100_000 and events["inserted"] == 100_000 and events["rejected"] == 0
    assert any("content hashes" in n for n in events["notes"])
    again = ingest_ratings()
    assert again["inserted"] == 0 and again["duplicates"] == events["inserted"]

    s = SqlStore(url)
    try:
        ds = s.load_dataset()
        assert ds.n_users == 943 and ds.n_events == events["inserted"]
        assert (
            s.get_user("1").attributes["occupation"] == "technician"
            and s.get_user("1").attributes["age"] == 24
        )
        r = ds.ratings()
        assert r.shape == (943, ds.n_items) and r.data.min() >= 1 and r.data.max() <= 5
    finally:
        s.close()
