"""The loaders on the real files in ``../shared/datasets``: counts as stated in each README."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.data.schema import Item, Review
from shopmind.datasets import (
    amazon_reviews_to_records,
    ecd_groups,
    load_amazon_reviews,
    load_aus_retail,
    load_banking77,
    load_bitext,
    load_chorus_icecat,
    load_diginetica,
    load_ecd_taobao,
    load_movielens,
    load_movielens_ratings,
    load_s3rec,
    load_us_retail,
    load_walmart_weekly,
    to_sales_points,
)
from shopmind.datasets._io import frame_to_records


def test_movielens_100k(datasets_dir):
    folder = datasets_dir / "ml-100k"
    ratings = load_movielens_ratings(folder)
    assert len(ratings) == 100_000
    assert ratings.iloc[0].tolist() == ["196", "242", 3.0, 881250949]  # file order
    assert ratings["rating"].value_counts().sort_index().tolist() == [6_110, 11_370, 27_145, 34_174, 21_201]
    assert ratings.groupby("user_id").size().min() >= 20
    days = pd.to_datetime(ratings["timestamp"], unit="s")
    assert str(days.min().date()) == "1997-09-20" and str(days.max().date()) == "1998-04-22"
    ml = load_movielens(folder)
    assert len(ml.items) == 1_682 and len(ml.users) == 943
    ds = ml.dataset()
    assert (ds.n_users, ds.n_items, ds.n_events) == (943, 1_682, 100_000)
    assert frame_to_records(ml.items.head(50), Item)[0].title == "Toy Story"


def test_amazon_beauty_s3rec(datasets_dir):
    data = load_s3rec(datasets_dir / "amazon-beauty-seq" / "Beauty.txt")
    lengths = np.array([len(s) for s in data.sequences.values()])
    assert len(data.sequences) == 22_363 and lengths.sum() == 198_502
    assert lengths.min() == 5 and lengths.max() == 204
    assert len(data.items) == 12_101
    attr_ids = {a for attrs in data.items["attributes"] for a in attrs["attribute_ids"]}
    assert len(attr_ids) == 637
    assert data.sequences["1"] == ["1", "2", "3", "4", "5"]


def test_diginetica_sample(datasets_dir):
    views = load_diginetica(datasets_dir / "diginetica-sample")
    # the README says 12,390 rows; the file holds 12,391 data lines (the last without a newline)
    assert len(views) == 12_391
    assert views["session_id"].nunique() == 2_986
    assert views["user_id"].notna().sum() == 4_710
    assert views["item_id"].nunique() == 7_139
    assert str(views["timestamp"].min().date()) == "2016-01-03"
    assert str(views["timestamp"].max().date()) == "2016-06-01"


def test_amazon_fashion_reviews(datasets_dir):
    frame = load_amazon_reviews(datasets_dir / "amazon-fashion-5core" / "AMAZON_FASHION_5.json.gz")
    assert len(frame) == 3_176 and frame["user_id"].nunique() == 406 and frame["item_id"].nunique() == 31
    assert frame["rating"].value_counts().to_dict() == {5: 2_158, 4: 471, 3: 337, 1: 117, 2: 93}
    assert (frame["text"] != "").sum() == 3_160
    assert len(frame.drop_duplicates(["user_id", "item_id", "created_at", "text"])) == 3_087
    assert str(frame["created_at"].min().date()) == "2009-12-25"
    assert str(frame["created_at"].max().date()) == "2018-07-05"
    assert all(isinstance(r, Review) for r in amazon_reviews_to_records(frame.head(100)))


def test_chorus_icecat(datasets_dir):
    bench = load_chorus_icecat(datasets_dir / "chorus-icecat-search")
    assert len(bench.products) == 19_406 and bench.products["brand"].nunique() == 161
    assert len(bench.queries) == 135 and len(bench.judgments) == 3_668
    assert bench.judgments["item_id"].nunique() == 2_517
    assert bench.judgments["grade"].value_counts().to_dict() == {0: 1_853, 3: 1_472, 1: 238, 2: 105}
    assert "bluetooth speaker" in bench.queries
    assert set(bench.judgments["item_id"]) <= set(bench.products["id"])  # 100 % coverage
    items = frame_to_records(bench.products.sample(300, random_state=0), Item)
    assert all(i.price is None or i.price >= 0 for i in items)


def test_chorus_individual_ratings(datasets_dir):
    bench = load_chorus_icecat(
        datasets_dir / "chorus-icecat-search", "Broad_Query_Set_individual_ratings.csv"
    )
    j = bench.judgments
    assert len(j) == 3_188 and j["query"].nunique() == 135 and j["item_id"].nunique() == 2_349
    assert j["grade"].value_counts().to_dict() == {0: 1_471, 3: 1_426, 1: 198, 2: 93}
    raters = j[["rater_1", "rater_2", "rater_3"]]
    assert raters.isin([0, 1, 2, 3]).all().all()
    # (the README's "agree on 2,186 pairs" uses a definition we could not reproduce: all three
    # raters give the same grade on 2,278 pairs)


def test_banking77(datasets_dir):
    data = load_banking77(datasets_dir / "banking77")
    assert len(data.train) == 10_003 and len(data.test) == 3_080 and len(data.labels) == 77
    assert data.train["intent"].nunique() == 77 and data.test["intent"].nunique() == 77


def test_bitext(datasets_dir):
    frame = load_bitext(datasets_dir / "bitext-customer-support")
    assert len(frame) == 4_514 and frame["intent"].nunique() == 27 and frame["category"].nunique() == 11
    sizes = frame["intent"].value_counts()
    assert sizes.min() == 139 and sizes.max() == 204


def test_ecd_taobao(datasets_dir):
    data = load_ecd_taobao(datasets_dir / "ecd-taobao-cs-sample")
    assert [len(data[s]) for s in ("train", "valid", "test")] == [154, 154, 1_000]
    assert data["train"]["label"].sum() == 77 and data["test"]["label"].sum() == 100
    groups = ecd_groups(data["test"])
    assert len(groups) == 100 and all(len(c) == 10 and t >= 0 for _, c, t in groups)


def test_retail_sales(datasets_dir):
    walmart = load_walmart_weekly(datasets_dir / "walmart-sales-weekly")
    assert len(walmart) == 1_001 and walmart["unique_id"].nunique() == 7
    assert walmart.groupby("unique_id").size().eq(143).all()
    assert str(walmart["ds"].min().date()) == "2010-02-05" and str(walmart["ds"].max().date()) == "2012-10-26"
    assert len(to_sales_points(walmart)) == 1_001
    aus = load_aus_retail(datasets_dir / "aus-retail-turnover")
    assert len(aus) == 64_532 and aus["unique_id"].nunique() == 152
    assert aus["state"].nunique() == 8 and aus["industry"].nunique() == 20
    assert str(aus["ds"].min().date()) == "1982-04-01" and str(aus["ds"].max().date()) == "2018-12-01"
    us = load_us_retail(datasets_dir / "us-retail-sales-monthly")
    assert len(us) == 293 and str(us["ds"].max().date()) == "2016-05-01"
