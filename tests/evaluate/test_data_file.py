"""``--data-file`` evaluations of a shop's own files: forecast (sales), recommend (interactions).

Each runs on a CSV written here, gives the same figures as the named-dataset path on the same data
(realdata: ml-100k, Amazon Beauty and aus-retail converted to the plain format), and rejects a bad file
with one error line naming the line and the column. The README tour's ``--data-file`` commands are run
as written on a generated tiny shop.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args: list[str]) -> dict[str, Any]:
    """Run ``shopmind`` in-process; returns the ``--json`` document (the last argument pair)."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return dict(json.loads(Path(args[args.index("--json") + 1]).read_text()))


def cli_error(args: list[str]) -> str:
    """The ShopmindError a command raises, as the one line ``shopmind`` prints."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError), (result.output, result.exception)
    message = str(result.exception)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- forecast
def sales_frame(n_series: int = 3, n_days: int = 140, seed: int = 0) -> pd.DataFrame:
    """Daily series with a weekly pattern, a trend and noise; ids ``s0..``, columns sku/day/units."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=n_days, freq="D")
    week = np.array([1.0, 0.9, 0.8, 1.0, 1.3, 1.8, 1.5])
    frames = []
    for s in range(n_series):
        level = 20 + 10 * s
        y = level * week[days.dayofweek] * (1 + 0.002 * np.arange(n_days)) + rng.normal(0, 2, n_days)
        frames.append(pd.DataFrame({"sku": f"s{s}", "day": days.strftime("%Y-%m-%d"), "units": y.round(2)}))
    return pd.concat(frames, ignore_index=True)


FAST_FORECAST = ["--horizon", "7", "--windows", "1", "--test-windows", "1", "-m", "Naive", "-m", "AutoETS"]


def test_forecast_data_file_csv_and_parquet(tmp_path: Path) -> None:
    frame = sales_frame()
    csv_file, pq_file = tmp_path / "sales.csv", tmp_path / "sales.parquet"
    frame.to_csv(csv_file, index=False)
    frame.to_parquet(pq_file, index=False)
    cols = ["--id-col", "sku", "--date-col", "day", "--value-col", "units"]
    a = run_cli(["evaluate", "forecast", "--data-file", str(csv_file), *cols, *FAST_FORECAST,
                 "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "forecast", "--data-file", str(pq_file), *cols, *FAST_FORECAST,
                 "--json", str(tmp_path / "b.json")])  # fmt: skip
    assert a["dataset"] == "sales" and a["info"]["n_series"] == 3
    assert a["config"]["freq"] == "D" and a["config"]["season_length"] == 7  # inferred, weekly season
    assert {r["name"] for r in a["rows"]} >= {"auto", "Naive", "AutoETS", "SeasonalNaive"}
    assert a["rows"] == b["rows"] and a["info"] == b["info"]
    snaive = next(r for r in a["rows"] if r["name"] == "SeasonalNaive")["metrics"]
    assert snaive["mase_vs_seasonal_naive"] == pytest.approx(1.0)


def test_forecast_data_file_equals_the_same_frame_in_python(tmp_path: Path) -> None:
    """The file path is the library's backtest on the same long frame and config (nothing else)."""
    from shopmind.evaluate.forecast import backtest, file_config

    frame = sales_frame(n_series=2)
    path = tmp_path / "s.csv"
    frame.rename(columns={"sku": "unique_id", "day": "ds", "units": "y"}).to_csv(path, index=False)
    out = run_cli(
        ["evaluate", "forecast", "--data-file", str(path), *FAST_FORECAST, "--json", str(tmp_path / "o.json")]
    )
    long = frame.rename(columns={"sku": "unique_id", "day": "ds", "units": "y"}).assign(
        ds=lambda d: pd.to_datetime(d["ds"])
    )
    cfg = file_config("D", horizon=7, n_windows=1, smooth_models=("Naive", "AutoETS"))
    res = backtest(long, cfg, n_test=1)
    assert json.loads(json.dumps(res.rows)) == out["rows"]


def test_forecast_fill_gaps_and_weekly_inference(tmp_path: Path) -> None:
    weeks = pd.date_range("2022-01-07", periods=120, freq="W-FRI")
    y = 100 + 10 * np.sin(np.arange(120) / 52 * 2 * np.pi)
    frame = pd.DataFrame({"unique_id": "w", "ds": weeks.strftime("%Y-%m-%d"), "y": y})
    path = tmp_path / "weekly.csv"
    frame.drop(index=[50, 51]).to_csv(path, index=False)
    msg = cli_error(
        [
            "evaluate",
            "forecast",
            "--data-file",
            str(path),
            "--freq",
            "W-FRI",
            "--json",
            str(tmp_path / "x.json"),
        ]
    )
    # the row after the gap (line 52, dated 2023-01-06) is named; the first missing week is 2022-12-23
    assert "line 52 field 'ds'" in msg and "no row for 2022-12-23" in msg and "--fill-gaps" in msg
    out = run_cli(["evaluate", "forecast", "--data-file", str(path), "--freq", "W-FRI", "--fill-gaps",
                   "--windows", "1", "--test-windows", "1", "-m", "Naive", "--json", str(tmp_path / "w.json")])  # fmt: skip
    assert out["config"]["season_length"] == 52 and out["config"]["horizon"] == 13
    frame.to_csv(path, index=False)
    out = run_cli(["evaluate", "forecast", "--data-file", str(path), "--windows", "1", "--test-windows", "1",
                   "-m", "Naive", "--json", str(tmp_path / "w2.json")])  # fmt: skip
    assert out["config"]["freq"] == "W-FRI"  # inferred


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("sku,day,units", "sku,date,units", 1), ["line 1", "missing columns", "'day'"]),
        (
            lambda t: t.replace("2024-01-05", "2024-13-05", 1),
            ["line 6 field 'day'", "bad date", "2024-13-05"],
        ),
        (
            lambda t: t.replace("\ns1,2024-01-03,", "\ns1,2024-01-03,x", 1),
            ["line 144 field 'units'", "not a number"],
        ),
        (lambda t: t.replace("s0,2024-01-04,", "s0,2024-01-03,", 1), ["line 5 field 'day'", "duplicate"]),
        (lambda t: t.replace("\ns2,", "\n,", 1), ["line 282 field 'sku'", "empty series id"]),
        (lambda t: t.replace("s0,2024-01-04,", "s0,2024-01-04 12:00,", 1), ["line 5 field 'day'", "grid"]),
    ],
)
def test_forecast_bad_file_one_error_line(tmp_path: Path, edit: Any, expected: list[str]) -> None:
    text = sales_frame().to_csv(index=False)
    path = tmp_path / "bad.csv"
    path.write_text(edit(text))
    msg = cli_error(["evaluate", "forecast", "--data-file", str(path), "--id-col", "sku", "--date-col", "day",
                     "--value-col", "units", "--freq", "D", "--json", str(tmp_path / "x.json")])  # fmt: skip
    assert str(path) in msg
    for part in expected:
        assert part in msg, msg


def test_forecast_needs_exactly_one_source() -> None:
    result = CliRunner().invoke(app, ["evaluate", "forecast"])
    assert result.exit_code != 0 and "give either --dataset or --data-file" in str(result.exception)


def test_one_line_error_from_the_real_command(tmp_path: Path) -> None:
    """What a user sees: one red line on stderr, exit code 2, no traceback."""
    path = tmp_path / "bad.csv"
    path.write_text("unique_id,ds,y\na,2024-01-01,1\na,2024-01-02,oops\n")
    proc = subprocess.run(
        [sys.executable, "-m", "shopmind.cli", "evaluate", "forecast", "--data-file", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "COLUMNS": "400"},
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "line 3 field 'y'" in lines[0] and "Traceback" not in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- recommend
def interactions_frame(n_users: int = 40, n_items: int = 30, seed: int = 1) -> pd.DataFrame:
    """Each user rates 8–14 items from two taste groups, over time (unix seconds)."""
    rng = np.random.default_rng(seed)
    rows = []
    t = 1_700_000_000
    for u in range(n_users):
        group = u % 2
        pool = np.arange(group * n_items // 2, (group + 1) * n_items // 2)
        extra = rng.choice(n_items, size=3, replace=False)
        items = list(
            dict.fromkeys(
                [*rng.choice(pool, size=rng.integers(6, 12), replace=False).tolist(), *extra.tolist()]
            )
        )
        for i in items:
            t += int(rng.integers(60, 3600))
            rows.append((f"u{u}", f"i{i}", float(rng.integers(1, 6)), t))
    return pd.DataFrame(rows, columns=["customer", "product", "stars", "when"])


FAST_RECS = ["-a", "popularity", "-a", "item_knn", "-a", "ease"]
COLS = ["--user-col", "customer", "--item-col", "product", "--rating-col", "stars", "--time-col", "when"]


@pytest.mark.parametrize("protocol", ["msr", "loo", "temporal"])
def test_recommend_data_file_every_protocol(tmp_path: Path, protocol: str) -> None:
    path = tmp_path / "interactions.csv"
    interactions_frame().to_csv(path, index=False)
    out = run_cli(["evaluate", "recommend", "--data-file", str(path), *COLS, "--protocol", protocol,
                   *FAST_RECS, "--json", str(tmp_path / "r.json")])  # fmt: skip
    assert out["dataset"] == "interactions" and out["protocol"] == protocol
    assert [r["name"] for r in out["rows"]] == ["popularity", "item_knn", "ease"]
    assert out["published"] == {}  # MS Recommenders' ml-100k rows are not a shop file's anchors
    for row in out["rows"]:
        assert 0.0 <= row["metrics"]["ndcg@10"] <= 1.0 and row["users"] > 0
    # two taste groups: the collaborative models beat popularity
    nd = {r["name"]: r["metrics"]["ndcg@10"] for r in out["rows"]}
    assert max(nd["item_knn"], nd["ease"]) > nd["popularity"]


def test_recommend_iso_times_and_parquet_equal_unix_csv(tmp_path: Path) -> None:
    frame = interactions_frame()
    frame.to_csv(tmp_path / "a.csv", index=False)
    iso = frame.assign(
        when=pd.to_datetime(frame["when"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    iso.to_csv(tmp_path / "b.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    docs = [
        run_cli(
            [
                "evaluate",
                "recommend",
                "--data-file",
                str(tmp_path / f),
                *COLS,
                "--protocol",
                "temporal",
                *FAST_RECS,
                "--json",
                str(tmp_path / f"{f}.json"),
            ]
        )
        for f in ("a.csv", "b.csv", "c.parquet")
    ]
    assert docs[0]["rows"][0]["metrics"] == docs[1]["rows"][0]["metrics"] == docs[2]["rows"][0]["metrics"]
    assert [r["metrics"] for r in docs[0]["rows"]] == [r["metrics"] for r in docs[1]["rows"]]


def test_recommend_msr_file_equals_ml100k_path_with_any_inter_name(tmp_path: Path) -> None:
    """The same ratings as a plain CSV and as a RecBole .inter file of any name give the same figures."""
    frame = interactions_frame()
    frame.to_csv(tmp_path / "plain.csv", index=False)
    inter_dir = tmp_path / "recbole"
    inter_dir.mkdir()
    frame.rename(
        columns={
            "customer": "user_id:token",
            "product": "item_id:token",
            "stars": "rating:float",
            "when": "timestamp:float",
        }
    ).to_csv(inter_dir / "my-shop-2024.inter", sep="\t", index=False)
    a = run_cli(["evaluate", "recommend", "--data-file", str(tmp_path / "plain.csv"), *COLS, "--protocol", "msr",
                 "--seeds", "42,43", *FAST_RECS, "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "recommend", "--dataset", "ml-100k", "--data-dir", str(inter_dir),
                 "--seeds", "42,43", *FAST_RECS, "--json", str(tmp_path / "b.json")])  # fmt: skip
    c = run_cli(["evaluate", "recommend", "--dataset", "ml-100k", "--data-file", str(inter_dir / "my-shop-2024.inter"),
                 "--seeds", "42,43", *FAST_RECS, "--json", str(tmp_path / "c.json")])  # fmt: skip
    for x, y, z in zip(a["rows"], b["rows"], c["rows"], strict=True):
        assert x["metrics"] == y["metrics"] == z["metrics"], x["name"]


def test_ml100k_folder_with_several_inter_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t4\n"
    )
    shutil.copy(tmp_path / "a.inter", tmp_path / "b.inter")
    msg = cli_error(
        ["evaluate", "recommend", "--dataset", "ml-100k", "--data-dir", str(tmp_path), "-a", "popularity"]
    )
    assert "a.inter" in msg and "b.inter" in msg


def test_recommend_rows_without_item_are_skipped_and_counted(tmp_path: Path) -> None:
    from shopmind.evaluate.protocols import read_interactions

    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,timestamp\nu1,i1,10\nu1,,11\nu2,i1,12\n")
    frame = read_interactions(path)
    assert frame["item_id"].tolist() == ["i1", "i1"] and frame.attrs["rows_without_item"] == 1
    assert frame["rating"].tolist() == [1.0, 1.0] and frame["timestamp"].tolist() == [10, 12]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer,item,stars,when\nu1,i1,5,10\n", ["line 1", "missing columns", "'product'"]),
        ("customer,product,stars,when\nu1,i1,5,10\n,i2,4,11\n", ["line 3 field 'customer'", "empty id"]),
        (
            "customer,product,stars,when\nu1,i1,5,10\nu1,,4,11\nu2,i2,five,12\n",
            ["line 4 field 'stars'", "'five'"],
        ),
        ("customer,product,stars,when\nu1,i1,5,10\nu2,i2,4,yesterday\n", ["line 3 field 'when'", "bad time"]),
        ("customer,product,stars,when\nu1,i1,5,10\nu2,i2,4,11,extra\n", ["line 3", "malformed"]),
    ],
)
def test_recommend_bad_file_one_error_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    msg = cli_error(["evaluate", "recommend", "--data-file", str(path), *COLS, "-a", "popularity"])
    for part in expected:
        assert part in msg, msg


# --------------------------------------------------------------------------- realdata: identical figures
def test_realdata_ml100k_csv_equals_named_path(datasets_dir: Path, tmp_path: Path) -> None:
    inter = pd.read_csv(datasets_dir / "ml-100k" / "ml-100k.inter", sep="\t", dtype=str)
    inter.columns = ["user", "movie", "stars", "unix_time"]
    inter.to_csv(tmp_path / "ml.csv", index=False)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(datasets_dir / "ml-100k" / "ml-100k.inter", renamed / "ratings-export.inter")
    algos = ["-a", "popularity", "-a", "item_knn", "-a", "sar"]
    a = run_cli(["evaluate", "recommend", "--data-file", str(tmp_path / "ml.csv"), "--user-col", "user",
                 "--item-col", "movie", "--rating-col", "stars", "--time-col", "unix_time", "--protocol", "msr",
                 *algos, "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "recommend", "--dataset", "ml-100k", "--data-dir", str(datasets_dir / "ml-100k"),
                 *algos, "--json", str(tmp_path / "b.json")])  # fmt: skip
    c = run_cli(["evaluate", "recommend", "--dataset", "ml-100k", "--data-dir", str(renamed),
                 *algos, "--json", str(tmp_path / "c.json")])  # fmt: skip
    for x, y, z in zip(a["rows"], b["rows"], c["rows"], strict=True):
        assert x["metrics"] == y["metrics"] == z["metrics"], x["name"]
    assert b["rows"][0]["metrics"]["ndcg@10"] > 0.2  # popularity on ml-100k msr (0.2524)


@pytest.mark.slow
def test_realdata_beauty_csv_equals_sequence_file(datasets_dir: Path, tmp_path: Path) -> None:
    rows = []
    for line in (datasets_dir / "amazon-beauty-seq" / "Beauty.txt").read_text().splitlines():
        user, *items = line.split()
        rows += [(user, item, pos) for pos, item in enumerate(items)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).to_csv(
        tmp_path / "beauty.csv", index=False
    )
    algos = ["-a", "popularity", "-a", "item_knn"]
    a = run_cli(["evaluate", "recommend", "--data-file", str(tmp_path / "beauty.csv"), "--protocol", "loo",
                 *algos, "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "recommend", "--dataset", "sequences", "--data-file",
                 str(datasets_dir / "amazon-beauty-seq" / "Beauty.txt"), *algos, "--json", str(tmp_path / "b.json")])  # fmt: skip
    for x, y in zip(a["rows"], b["rows"], strict=True):
        assert x["metrics"] == y["metrics"], x["name"]
        assert x["users"] == y["users"] == 22_363


def test_realdata_aus_retail_csv_equals_named_path(datasets_dir: Path, tmp_path: Path) -> None:
    from shopmind.datasets.sales import load_aus_retail

    frame = load_aus_retail(datasets_dir / "aus-retail-turnover")
    plain = pd.DataFrame(
        {"series": frame["unique_id"], "month": frame["ds"].dt.strftime("%Y-%m"), "turnover": frame["y"]}
    )
    plain.sample(frac=1.0, random_state=0).to_csv(tmp_path / "aus.csv", index=False)  # row order is free
    fast = ["--n-series", "2", "--windows", "2", "--test-windows", "1", "-m", "Naive", "-m", "AutoETS"]
    a = run_cli(["evaluate", "forecast", "--data-file", str(tmp_path / "aus.csv"), "--id-col", "series",
                 "--date-col", "month", "--value-col", "turnover", *fast, "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "forecast", "--dataset", "aus-retail", "--data-dir", str(datasets_dir), *fast,
                 "--json", str(tmp_path / "b.json")])  # fmt: skip
    assert a["config"] == b["config"] and a["info"] == b["info"]
    assert a["rows"] == b["rows"]


def test_realdata_walmart_csv_equals_named_path(datasets_dir: Path, tmp_path: Path) -> None:
    from shopmind.datasets.sales import load_walmart_weekly

    frame = load_walmart_weekly(datasets_dir / "walmart-sales-weekly")
    frame[["unique_id", "ds", "y"]].to_parquet(tmp_path / "walmart.parquet", index=False)
    fast = ["--n-series", "2", "--windows", "1", "--test-windows", "1", "-m", "Naive"]
    a = run_cli(["evaluate", "forecast", "--data-file", str(tmp_path / "walmart.parquet"), *fast,
                 "--json", str(tmp_path / "a.json")])  # fmt: skip
    b = run_cli(["evaluate", "forecast", "--dataset", "walmart", "--data-dir", str(datasets_dir), *fast,
                 "--json", str(tmp_path / "b.json")])  # fmt: skip
    assert a["config"]["freq"] == "W-FRI" and a["config"] == b["config"]
    assert a["rows"] == b["rows"] and a["info"] == b["info"]


# --------------------------------------------------------------------------- the README tour
def readme_data_file_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A short tour") : text.index("### Python API")]
    out = []
    for line in tour.splitlines():
        cmd = line.split("#", 1)[0].strip()
        if cmd.startswith("shopmind evaluate") and "--data-file" in cmd:
            out.append(cmd)
    return out


def test_readme_tour_lists_the_data_file_commands() -> None:
    cmds = readme_data_file_commands()
    assert any(" forecast " in c for c in cmds) and any(" recommend " in c for c in cmds), cmds


@pytest.mark.slow
def test_readme_data_file_commands_run(tmp_path: Path) -> None:
    """Each README ``--data-file`` command, as written, on the tour's generated tiny shop."""
    from shopmind.datasets.synthetic import ShopConfig
    from shopmind.datasets.synthetic.generate import generate

    generate(ShopConfig.preset("tiny"), tmp_path / "var" / "tiny")
    for cmd in readme_data_file_commands():
        args = shlex.split(cmd)[1:]
        args = [str(tmp_path / a) if re.match(r"var/", a) else a for a in args]
        out = run_cli([*args, "--json", str(tmp_path / "out.json")])
        assert out["rows"], cmd
