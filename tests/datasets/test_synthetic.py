"""The synthetic demo shop: determinism, schema validity, bilingual content and learnable signal."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopmind.data.schema import Document, Event, Item, Order, Review, SalesPoint, User
from shopmind.datasets.synthetic import FILES, ShopConfig, generate, iter_event_chunks
from shopmind.errors import ConfigError

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shop")
    generate(ShopConfig.preset("tiny", seed=11), out)
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _events(shop: Path) -> pd.DataFrame:
    ev = pd.read_csv(shop / "events.csv", dtype={"query": str, "item_id": str, "session_id": str})
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True)
    return ev


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_files_other_seed_differs(shop, tmp_path):
    generate(ShopConfig.preset("tiny", seed=11), tmp_path / "again")
    generate(ShopConfig.preset("tiny", seed=12), tmp_path / "other")
    first, again, other = _digest(shop), _digest(tmp_path / "again"), _digest(tmp_path / "other")
    assert first == again
    assert set(first) >= {
        "items.jsonl",
        "users.jsonl",
        "events.csv",
        "orders.jsonl",
        "reviews.jsonl",
        "documents.jsonl",
        "sales.csv",
        "categories.json",
        "shop.json",
    }
    differing = {name for name in first if first[name] != other[name]}
    assert {"items.jsonl", "events.csv", "sales.csv"} <= differing


def test_every_record_is_schema_valid(shop):
    for model, name in (
        (Item, "items"),
        (User, "users"),
        (Order, "orders"),
        (Document, "documents"),
        (Review, "reviews"),
    ):
        rows = _jsonl(shop / FILES[name])
        assert rows, name
        for row in rows:
            model.model_validate(row)
    ev = pd.read_csv(shop / "events.csv", dtype=str, keep_default_na=False)
    for row in ev.to_dict("records"):
        Event.model_validate({k: v for k, v in row.items() if v != ""})
    sales = pd.read_csv(shop / "sales.csv", dtype=str)
    for row in sales.sample(2000, random_state=0).to_dict("records"):
        SalesPoint.model_validate({**row, "promo": row["promo"] == "true"})
    # references: every event/order/review names known users and items
    items = {r["id"] for r in _jsonl(shop / "items.jsonl")}
    users = {r["id"] for r in _jsonl(shop / "users.jsonl")}
    assert set(ev["user_id"]) <= users
    assert set(ev.loc[ev["item_id"] != "", "item_id"]) <= items
    assert all(line["item_id"] in items for o in _jsonl(shop / "orders.jsonl") for line in o["lines"])


def test_counts_follow_the_config(shop):
    manifest = json.loads((shop / "shop.json").read_text())
    cfg = ShopConfig.preset("tiny", seed=11)
    counts = manifest["counts"]
    assert counts["items"] == cfg.n_items and counts["users"] == cfg.n_users
    assert 0.8 * cfg.n_events < counts["events"] < 1.2 * cfg.n_events
    assert counts["sales"] == cfg.n_sales_items * cfg.days
    assert manifest["period"] == {"start": "2024-07-01", "end": "2026-06-30"}
    ev = _events(shop)
    assert ev["timestamp"].min() >= pd.Timestamp("2024-07-01", tz="UTC")
    assert ev["timestamp"].max() < pd.Timestamp("2026-07-01", tz="UTC")


def test_funnel_sessions_and_repeat_purchases(shop):
    ev = _events(shop)
    n = ev["type"].value_counts()
    assert n["view"] > n["cart"] > n["purchase"] > 0
    assert 0.03 < n["cart"] / n["view"] < 0.2
    assert 0.3 < n["purchase"] / n["cart"] < 0.8
    for kind in ("search", "click", "wishlist", "rating", "return"):
        assert n.get(kind, 0) > 0, kind
    views_per_session = ev[ev["type"] == "view"].groupby("session_id").size()
    assert 2.0 < views_per_session.mean() < 6.0
    buys = ev[ev["type"] == "purchase"]
    repeat = buys.groupby(["user_id", "item_id"])["session_id"].nunique()
    assert (repeat >= 2).sum() > 20  # staples bought again in later sessions
    # a user's events fall into a few categories, not uniformly over all 33
    items = pd.DataFrame(_jsonl(shop / "items.jsonl")).set_index("id")
    leaf = ev.loc[ev["type"] == "view", ["user_id", "item_id"]].assign(
        leaf=lambda d: items.loc[d["item_id"], "category"].map(lambda c: c[-1]).to_numpy()
    )
    top3 = leaf.groupby("user_id")["leaf"].agg(lambda s: s.value_counts().head(3).sum() / len(s))
    assert top3.median() > 0.75


def test_orders_statuses_tracking_and_emails(shop):
    orders = _jsonl(shop / "orders.jsonl")
    statuses = {o["status"] for o in orders}
    assert {"delivered", "cancelled", "returned"} <= statuses
    shipped = [o for o in orders if o["status"] in {"shipped", "delivered", "returned", "return_requested"}]
    assert shipped and all(o["tracking_number"] and o["carrier"] for o in shipped)
    assert all("tracking_number" not in o for o in orders if o["status"] == "cancelled")
    assert {o["carrier"] for o in shipped} & {"SF Express", "JD Logistics", "ZTO", "YTO"}
    assert {o["carrier"] for o in shipped} & {"UPS", "FedEx", "DHL", "USPS"}
    assert all(o["delivered_at"] >= o["shipped_at"] >= o["created_at"] for o in orders if "delivered_at" in o)
    users = _jsonl(shop / "users.jsonl")
    assert all(u["email"].endswith("@example.com") for u in users)
    assert len({u["email"] for u in users}) == len(users)


def test_bilingual_catalogue_attributes_and_stock(shop):
    items = _jsonl(shop / "items.jsonl")
    zh = [i for i in items if i["language"] == "zh"]
    assert 0.25 < len(zh) / len(items) < 0.6
    mixed = [i for i in zh if CJK.search(i["title"]) and re.search(r"[A-Za-z]{3,}", i["title"])]
    assert len(mixed) > 20  # e.g. "Apple iPhone 15 手机壳 透明"
    assert any(CJK.search(i["description"]) for i in zh)
    assert all(not CJK.search(i["title"]) for i in items if i["language"] == "en")
    assert len({tuple(i["category"]) for i in items}) == 33
    assert all(len(i["category"]) == 3 for i in items)
    keys = {k for i in items for k in i["attributes"]}
    assert {"colour", "size", "capacity", "bluetooth", "material", "battery_hours"} <= keys
    assert any(i["attributes"].get("capacity") in {"1TB", "512GB"} for i in items)
    assert any(i["stock"] == 0 for i in items) and any(i["stock"] > 0 for i in items)
    tree = json.loads((shop / "categories.json").read_text())
    assert any(t["path_zh"][-1] == "耳机" and t["path"][-1] == "Headphones" for t in tree)


def test_help_documents_state_policy_facts(shop):
    docs = {d["id"]: d for d in _jsonl(shop / "documents.jsonl")}
    assert {d["language"] for d in docs.values()} == {"en", "zh"}
    topics = {d["id"].rsplit("-", 1)[0] for d in docs.values()}
    assert {
        "help-shipping",
        "help-returns",
        "help-payment",
        "help-warranty",
        "help-order-tracking",
        "help-account",
        "help-privacy",
    } <= topics
    assert "Returns are accepted within 30 days" in docs["help-returns-en"]["body"]
    assert "30天内可申请退货" in docs["help-returns-zh"]["body"]
    assert "$49" in docs["help-shipping-en"]["body"]


def test_reviews_carry_aspect_sentiment(shop):
    reviews = pd.DataFrame(_jsonl(shop / "reviews.jsonl"))
    assert set(reviews["language"]) == {"en", "zh"}
    assert reviews["rating"].between(1, 5).all() and reviews["rating"].nunique() >= 4
    en = reviews[reviews["language"] == "en"]
    positive = en["text"].str.contains("Great|excellent|fast|comfortable|perfect|love", case=False)
    assert positive[en["rating"] >= 4].mean() > positive[en["rating"] <= 2].mean() + 0.3
    assert reviews["text"].str.contains("Delivery|delivery|物流").any()


def test_searches_have_queries_clicks_and_typos(shop):
    ev = _events(shop)
    searches = ev[ev["type"] == "search"]
    clicks = ev[ev["type"] == "click"]
    assert searches["query"].notna().all() and clicks["query"].notna().all()
    assert searches["query"].map(lambda q: bool(CJK.search(q))).mean() > 0.2
    assert clicks["value"].between(1, 20).all()  # the clicked result's position
    # clicks follow their search in the same session, with the same query
    merged = clicks.merge(searches, on="session_id", suffixes=("_c", "_s"))
    assert len(merged) == len(clicks)
    assert (merged["query_c"] == merged["query_s"]).all()
    assert (merged["timestamp_c"] > merged["timestamp_s"]).all()
    vocab = set(" ".join(ev.loc[ev["type"] == "search", "query"]).split())
    known = {"headphones", "smartphones", "laptops", "ssd", "speakers", "earbuds", "mice", "keyboards"}
    assert vocab & known


def _matrix(frame: pd.DataFrame, users: pd.Index, items: pd.Index) -> sp.csr_matrix:
    u = users.get_indexer(frame["user_id"])
    i = items.get_indexer(frame["item_id"])
    m = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=(len(users), len(items)))
    m.data[:] = 1.0
    return m


def test_item_knn_beats_popularity_on_a_later_period(shop):
    ev = _events(shop)
    ev = ev[ev["item_id"].notna() & ev["type"].isin(["view", "cart", "purchase"])]
    cutoff = ev["timestamp"].quantile(0.85)
    train, test = ev[ev["timestamp"] < cutoff], ev[ev["timestamp"] >= cutoff]
    users = pd.Index(sorted(ev["user_id"].unique()))
    items = pd.Index(sorted(ev["item_id"].unique()))
    X = _matrix(train, users, items)
    Y = _matrix(test, users, items)
    Y = Y - Y.multiply(X)  # only items new to the user count as hits
    Y.eliminate_zeros()
    eval_users = np.flatnonzero(
        (np.asarray(Y.sum(axis=1)).ravel() > 0) & (np.asarray(X.sum(axis=1)).ravel() > 0)
    )
    assert len(eval_users) > 50
    # item-kNN: cosine co-occurrence, scores = X_u · S
    norms = np.sqrt(np.asarray(X.sum(axis=0)).ravel()) + 1e-9
    S = (X.T @ X).toarray() / norms[:, None] / norms[None, :]
    np.fill_diagonal(S, 0.0)
    knn = X[eval_users] @ S
    pop = np.tile(np.asarray(X.sum(axis=0)).ravel(), (len(eval_users), 1))

    def recall_at_10(scores: np.ndarray) -> float:
        scores = np.where(X[eval_users].toarray() > 0, -np.inf, scores)
        top = np.argsort(-scores, axis=1)[:, :10]
        truth = Y[eval_users].toarray() > 0
        hits = np.take_along_axis(truth, top, axis=1).sum(axis=1)
        return float(np.mean(hits / np.minimum(truth.sum(axis=1), 10)))

    r_knn, r_pop = recall_at_10(np.asarray(knn)), recall_at_10(pop)
    assert r_knn > 1.3 * r_pop, (r_knn, r_pop)


def test_a_category_word_finds_that_category(shop):
    import bm25s

    items = pd.DataFrame(_jsonl(shop / "items.jsonl"))
    leaf = items["category"].map(lambda c: c[-1])

    def tokens(text: str) -> list[str]:
        # English words + Chinese character bigrams: enough for a plain lexical check
        words = re.findall(r"[a-z0-9]+", text.lower())
        for run in re.findall(r"[\u4e00-\u9fff]+", text):
            words += [run[k : k + 2] for k in range(len(run) - 1)] or [run]
        return words

    retriever = bm25s.BM25()
    retriever.index([tokens(t) for t in items["title"]], show_progress=False)
    for query, category in (
        ("headphones", "Headphones"),
        ("耳机", "Headphones"),
        ("running shoes", "Running Shoes"),
        ("连衣裙", "Dresses"),
        ("phone case", "Phone Cases"),
        ("ssd", "SSD"),
    ):
        docs, _ = retriever.retrieve([tokens(query)], k=5, show_progress=False)
        share = (leaf.iloc[docs[0]] == category).mean()
        assert share >= 0.8, (query, share)


def test_sales_weekly_seasonality_promotions_and_intermittency(shop):
    sales = pd.read_csv(shop / "sales.csv", parse_dates=["date"])
    wide = sales.pivot(index="date", columns="item_id", values="units")
    top = wide[wide.mean().sort_values(ascending=False).index[:8]]
    ratio = top / top.rolling(28, center=True, min_periods=7).mean()

    def acf(lag: int) -> float:
        return float(np.nanmean([ratio[c].autocorr(lag) for c in ratio]))

    assert acf(7) > 0.15 and acf(7) > acf(3) + 0.15
    # promotions raise units for the same items
    lift = sales.groupby(["item_id", "promo"])["units"].mean().unstack()
    lift = lift[lift[False] > 1]
    assert (lift[True] / lift[False]).median() > 1.3
    promo_price = sales.groupby(["item_id", "promo"])["price"].mean().unstack().dropna()
    assert (promo_price[True] < promo_price[False]).all()
    # intermittent demand (ADI > 1.32, Syntetos & Boylan) for slow movers
    zero_share = (wide == 0).mean()
    assert (zero_share > 1 - 1 / 1.32).sum() >= 3
    # yearly pattern: the festival season (Nov) sells more than the quiet spring (Mar)
    total = wide.sum(axis=1)
    assert total[total.index.month == 11].mean() > total[total.index.month == 3].mean()


def test_no_generator_duplicates(shop):
    """One rating/review per customer and item, one cart line per item and session, distinct event
    content, distinct listing titles, and nothing piled up on the period's last second."""
    ev = _events(shop)
    key = ["user_id", "item_id", "type", "timestamp"]
    assert not ev.duplicated(subset=key).any(), ev[ev.duplicated(subset=key, keep=False)].head()
    assert not ev[ev["type"] == "rating"].duplicated(["user_id", "item_id"]).any()
    for kind in ("cart", "purchase"):
        assert not ev[ev["type"] == kind].duplicated(["session_id", "item_id"]).any(), kind
    reviews = pd.DataFrame(_jsonl(shop / "reviews.jsonl"))
    assert not reviews.duplicated(["user_id", "item_id"]).any()
    items = pd.DataFrame(_jsonl(shop / "items.jsonl"))
    title = items["title"].str.casefold().str.split().str.join(" ") + "|" + items["brand"].str.casefold()
    assert title.is_unique, items.loc[title.duplicated(keep=False), "title"].tolist()
    end = pd.Timestamp("2026-07-01", tz="UTC")
    assert (ev["timestamp"] == end - pd.Timedelta(seconds=1)).sum() <= 1
    orders = _jsonl(shop / "orders.jsonl")
    assert max(o["created_at"] for o in orders) < "2026-07-01"


def test_ingested_shop_passes_the_quality_report(shop, tmp_path):
    from datetime import UTC, datetime

    from shopmind.ingest import ingest_directory
    from shopmind.ingest.quality import quality_report
    from shopmind.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    try:
        reports = ingest_directory(store, shop, rejects_dir=tmp_path / "rejects")
        assert {r.kind for r in reports} >= {"items", "users", "events", "orders", "reviews", "sales"}
        assert all(r.rejected == 0 for r in reports), [(r.kind, r.error_counts) for r in reports]
        manifest = json.loads((shop / "shop.json").read_text())
        stored = {r.kind: r.inserted for r in reports}
        assert stored["events"] == manifest["counts"]["events"]
        assert stored["reviews"] == manifest["counts"]["reviews"]
        # "now" just after the simulated period, so the check does not depend on the wall clock
        report = quality_report(store, now=datetime(2026, 7, 1, tzinfo=UTC))
    finally:
        store.close()
    assert report["duplicates"] == {
        "events_same_content": 0,
        "items_same_title_brand": 0,
        "reviews_same_user_item": 0,
    }
    # the demo shop plants no anomalies (bots, shilling), so a clean shop has no findings at all
    assert report["findings"] == [], report["findings"]
    assert report["bots"] == [] and report["shilling"] == []


def test_event_chunks_stream_the_same_events(shop):
    cfg = ShopConfig.preset("tiny", seed=11)
    chunks = list(iter_event_chunks(cfg.model_copy(update={"chunk_users": 100})))
    assert len(chunks) == 3
    assert all(
        list(c.columns)
        == ["id", "user_id", "item_id", "type", "value", "quantity", "query", "session_id", "timestamp"]
        for c in chunks
    )
    assert all(str(c["timestamp"].dtype).endswith("UTC]") for c in chunks)
    whole = pd.concat(chunks)
    assert whole["id"].is_unique
    # per block of users the simulation differs from one 300-user block, but the volume is the same
    assert 0.8 < len(whole) / len(_events(shop)) < 1.25


def test_parquet_events(tmp_path):
    cfg = ShopConfig.preset(
        "tiny", seed=5, n_users=60, n_items=120, n_events=3000, n_sales_items=5, events_format="parquet"
    )
    res = generate(cfg, tmp_path)
    frame = pd.read_parquet(tmp_path / "events.parquet")
    assert len(frame) == res.counts["events"] and frame["id"].is_unique
    assert str(frame["timestamp"].dtype).endswith("UTC]")  # parquet has no second unit: stored as ms
    direct = pd.concat(iter_event_chunks(cfg))
    assert frame["id"].tolist() == direct["id"].tolist()


def test_presets_and_bad_settings():
    large = ShopConfig.preset("large")
    assert (large.n_users, large.n_items, large.n_events) == (1_000_000, 100_000, 50_000_000)
    assert large.events_format == "parquet"
    demo = ShopConfig.preset("demo")
    assert demo.n_items == 20_000
    with pytest.raises(ConfigError, match="unknown shop size"):
        ShopConfig.preset("huge")
    with pytest.raises(ConfigError, match="n_users"):
        ShopConfig.preset("tiny", n_users=1)
    with pytest.raises(ConfigError):
        ShopConfig.preset("tiny", n_sales_items=10_000)


def test_cli_generate(tmp_path):
    from typer.testing import CliRunner

    from shopmind.cli import app

    out = tmp_path / "cli-shop"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--size",
            "tiny",
            "--seed",
            "3",
            "--out",
            str(out),
            "--users",
            "50",
            "--items",
            "80",
            "--events",
            "2000",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "events.csv" in result.output
    assert (out / "items.jsonl").read_text().count("\n") == 80
    bad = CliRunner().invoke(app, ["generate", "--size", "galactic", "--out", str(out)])
    assert bad.exit_code != 0


def test_stock_follows_recent_demand(shop):
    """Stock ≈ a month of the last four weeks' demand (log-normal cover), same out-of-stock items."""
    items = {i["id"]: i["stock"] for i in _jsonl(shop / "items.jsonl")}
    sales = pd.read_csv(shop / "sales.csv", parse_dates=["date"])
    last = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=28)]
    demand = last.groupby("item_id")["units"].sum() / 28
    stock = pd.Series(items).reindex(demand.index)
    stocked = (stock > 0) & (demand > 0)
    cover = stock[stocked] / demand[stocked]
    assert 15 < cover.median() < 60 and (cover < 7).mean() < 0.2
    assert np.corrcoef(np.log1p(stock[stocked]), np.log1p(demand[stocked]))[0, 1] > 0.7
    zero = np.mean([v == 0 for v in items.values()])
    assert 0.02 < zero < 0.2  # out_of_stock_share = 0.08
    assert all(isinstance(v, int) and v >= 0 for v in items.values())
