"""CLI: piped ``shopmind chat``, ``describe``, ``reviews`` and the evaluate commands on small inputs."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.data.schema import OrderStatus


@pytest.fixture
def cli_env(trained_dir, shop_db, tmp_path, monkeypatch):
    from shopmind.store.artifacts import ArtifactStore

    db = tmp_path / "shop.db"
    shutil.copy(shop_db, db)
    artifacts = ArtifactStore(tmp_path / "artifacts")
    run = artifacts.new_run()
    shutil.copytree(trained_dir, run.path / "assistant")
    artifacts.publish(run, {"components": {"assistant": {}}})
    monkeypatch.setenv("SHOPMIND_STORE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("SHOPMIND_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    return db


def _store(db):
    from shopmind.store import open_store

    return open_store(f"sqlite:///{db}")


def test_chat_reads_piped_lines(cli_env):
    store = _store(cli_env)
    frame = store.orders_frame()
    order = store.get_order(frame.loc[frame["status"] == OrderStatus.SHIPPED.value, "order_id"].iloc[0])
    store.close()
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["chat", "--user", order.user_id, "--meta"],
        input=f"hello\nwhere is order {order.id}?\nquit\nnever read\n",
    )
    assert res.exit_code == 0, res.output
    assert "Hello!" in res.output and order.tracking_number in res.output
    assert "intent=greeting" in res.output and "never read" not in res.output


def test_describe_and_reviews(cli_env, tmp_path):
    store = _store(cli_env)
    item_id = store.reviews_frame()["item_id"].value_counts().index[0]
    item = store.get_item(item_id)
    store.close()
    runner = CliRunner()
    res = runner.invoke(
        app, ["describe", item_id, "--style", "bullet", "--claims", "--json", str(tmp_path / "d.json")]
    )
    assert res.exit_code == 0, res.output
    assert item.title in res.output
    assert json.loads((tmp_path / "d.json").read_text())["claims"][0]["value"] == item.title
    res = runner.invoke(app, ["reviews", item_id, "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "r.json").read_text())["item_id"] == item_id


def test_evaluate_intents_small_files(tmp_path):
    from shopmind.assistant.service import builtin_intents

    texts, labels = builtin_intents()
    rows = list(zip(texts, labels, strict=True))
    train, test = rows[::2] + rows[1::4], rows[3::4]
    for name, part in (("train.csv", train), ("test.csv", test)):
        with (tmp_path / name).open("w", encoding="utf-8") as fh:
            fh.write("text,intent\n" + "".join(f'"{t}",{lab}\n' for t, lab in part))
    out = tmp_path / "res.json"
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            "intents",
            "--train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--model",
            "tfidf",
            "--oos-holdout",
            "3",
            "--label-names",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    m = payload["rows"][0]["metrics"]
    assert {"oos_recall", "in_scope_loss", "in_scope_accuracy"} <= set(m)
    assert len(payload["rows"][0]["held_out_intents"]) == 3


def test_evaluate_responses_and_sentiment_realdata(datasets_dir, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "evaluate",
            "responses",
            "--data-dir",
            str(datasets_dir / "ecd-taobao-cs-sample"),
            "--json",
            str(tmp_path / "e.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "e.json").read_text())["rows"][0]["metrics"]
    assert m["groups"] == 100 and m["r10@1"] > 0.1  # better than picking at random
    res = runner.invoke(
        app,
        [
            "evaluate",
            "sentiment",
            "--data-dir",
            str(datasets_dir / "amazon-fashion-5core"),
            "--json",
            str(tmp_path / "s.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r["metrics"] for r in json.loads((tmp_path / "s.json").read_text())["rows"]}
    assert rows["sentiment/tfidf-logreg"]["macro_f1"] > rows["sentiment/majority"]["macro_f1"] + 0.2
    assert rows["sentiment/tfidf-logreg"]["accuracy"] > rows["sentiment/majority"]["accuracy"]


def test_evaluate_intents_trains_on_several_files(tmp_path):
    """--train repeated: the files are concatenated (train + dev), n_train counts both."""
    from shopmind.assistant.service import builtin_intents

    texts, labels = builtin_intents()
    rows = list(zip(texts, labels, strict=True))
    parts = {"a.csv": rows[0::3], "b.csv": rows[1::3], "test.csv": rows[2::3]}
    for name, part in parts.items():
        with (tmp_path / name).open("w", encoding="utf-8") as fh:
            fh.write("text,intent\n" + "".join(f'"{t}",{lab}\n' for t, lab in part))
    out = tmp_path / "res.json"
    args = ["evaluate", "intents", "--train", str(tmp_path / "a.csv"), "--train", str(tmp_path / "b.csv")]
    args += ["--test", str(tmp_path / "test.csv"), "--model", "tfidf", "--json", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())["rows"][-1]
    assert row["n_train"] == len(parts["a.csv"]) + len(parts["b.csv"])
