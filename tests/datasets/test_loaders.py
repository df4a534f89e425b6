"""Public-dataset loaders on tiny inline fixtures written to ``tmp_path``: formats, order, errors."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopmind.data.schema import Item, Review, SalesPoint
from shopmind.datasets import (
    amazon_rating_events,
    amazon_reviews_to_records,
    diginetica_dataset,
    ecd_groups,
    icecat_to_items,
    load_amazon_reviews,
    load_aus_retail,
    load_banking77,
    load_bitext,
    load_chorus_icecat,
    load_diginetica,
    load_ecd_taobao,
    load_judgments,
    load_movielens,
    load_movielens_items,
    load_movielens_ratings,
    load_movielens_users,
    load_s3rec,
    load_us_retail,
    load_walmart_weekly,
    to_sales_points,
)
from shopmind.datasets._io import frame_to_records
from shopmind.errors import DataError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


# ------------------------------------------------------------------ MovieLens
GENRE_FLAGS_TOY = "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0"
GENRE_FLAGS_DRAMA = "0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0"


@pytest.fixture
def ml_original(tmp_path) -> Path:
    d = tmp_path / "ml-100k"
    write(
        d / "u.data",
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t242\t1\t878887116\n196\t302\t5\t881251000\n",
    )
    write(
        d / "u.item",
        f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|{GENRE_FLAGS_DRAMA}\n"
        f"302|Misérables, Les (1995)|01-Jan-1995||http://x|{GENRE_FLAGS_TOY}\n",
        encoding="latin-1",
    )
    write(d / "u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n22|25|M|writer|40206\n")
    return d


@pytest.fixture
def ml_atomic(tmp_path) -> Path:
    d = tmp_path / "ml-atomic"
    write(
        d / "ml-100k.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t242\t1\t878887116\n196\t302\t5\t881251000\n",
    )
    write(
        d / "ml-100k.item",
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "242\tKolya\t1996\tComedy\n302\tMisérables, Les\t1995\tAnimation Children's Comedy\n",
    )
    write(
        d / "ml-100k.user",
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "196\t49\tM\twriter\t55105\n186\t39\tF\texecutive\t00000\n22\t25\tM\twriter\t40206\n",
    )
    return d


@pytest.mark.parametrize("layout", ["ml_original", "ml_atomic"])
def test_movielens_ratings_in_file_order(layout, request):
    folder = request.getfixturevalue(layout)
    r = load_movielens_ratings(folder)
    assert list(r.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert r["user_id"].tolist() == ["196", "186", "22", "196"]  # file order, string ids
    assert r["item_id"].tolist() == ["242", "302", "242", "302"]
    assert r["rating"].tolist() == [3.0, 3.0, 1.0, 5.0]
    assert r["timestamp"].dtype == np.int64 and r["timestamp"].iloc[0] == 881250949


def test_movielens_items_users_and_dataset(ml_original, ml_atomic):
    orig = load_movielens_items(ml_original).set_index("id")
    atomic = load_movielens_items(ml_atomic).set_index("id")
    assert orig.loc["302", "title"] == "Misérables, Les (1995)"  # latin-1 decoded
    assert orig.loc["302", "category"] == ["Animation", "Children's", "Comedy"]
    assert atomic.loc["302", "category"] == ["Animation", "Children's", "Comedy"]
    assert orig.loc["242", "attributes"]["year"] == 1997 and atomic.loc["242", "attributes"]["year"] == 1996
    users = load_movielens_users(ml_atomic).set_index("id")
    assert users.loc["186", "attributes"] == {
        "age": 39,
        "gender": "F",
        "occupation": "executive",
        "zip_code": "00000",
    }
    ml = load_movielens(ml_original)
    ds = ml.dataset()
    assert (ds.n_users, ds.n_items, ds.n_events) == (3, 2, 4)
    assert ds.ratings()[ds.users.index_of("196"), ds.items.index_of("302")] == 5.0
    items = frame_to_records(ml.items, Item)
    assert items[0].id == "242" and items[0].category == ["Drama"]


def test_movielens_errors_name_file_and_line(tmp_path):
    bad = write(tmp_path / "a" / "u.data", "1\t2\t3\t100\n1\t3\tfive\t100\n")
    with pytest.raises(DataError, match=r"u.data line 2 field 'rating'.*'five'"):
        load_movielens_ratings(bad)
    ragged = write(tmp_path / "b" / "u.data", "1\t2\t3\t100\n1\t3\t4\t100\t9\n")
    with pytest.raises(DataError, match=r"u.data.*line 2"):
        load_movielens_ratings(ragged)
    header = write(tmp_path / "c" / "x.inter", "user_id\titem_id:token\n1\t2\n")
    with pytest.raises(DataError, match="bad atomic-file header"):
        load_movielens_ratings(header)
    item = write(tmp_path / "d" / "u.item", "1|Toy|01-Jan-1995||u|0|1\n")
    with pytest.raises(DataError, match=r"u.item line 1.*'\|' fields"):
        load_movielens_items(item)
    with pytest.raises(DataError, match="no MovieLens ratings file"):
        load_movielens_ratings(tmp_path / "d")
    with pytest.raises(DataError, match="does not exist"):
        load_movielens_ratings(tmp_path / "nowhere")


# ------------------------------------------------------------------ S3Rec, DIGINETICA
def test_s3rec_sequences_attributes_and_dataset(tmp_path):
    seq = write(tmp_path / "Toy.txt", "1 1 2 3 4\n2 5 2 6\n3 3 3 1\n")
    write(tmp_path / "Toy_item2attributes.json", json.dumps({"1": [1, 2], "2": [3], "7": [4]}))
    data = load_s3rec(seq)
    assert data.sequences == {"1": ["1", "2", "3", "4"], "2": ["5", "2", "6"], "3": ["3", "3", "1"]}
    assert data.events["timestamp"].tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    items = data.items.set_index("id")
    assert items.loc["1", "attributes"] == {"attribute_ids": ["1", "2"]}
    assert "7" in items.index  # attribute-only items are kept in the catalogue
    ds = data.dataset()
    seqs = ds.sequences()
    assert [ds.items.id(i) for i in seqs[ds.users.index_of("3")]] == ["3", "3", "1"]  # order and repeats kept


def test_s3rec_errors(tmp_path):
    with pytest.raises(DataError, match=r"line 2.*user without items"):
        load_s3rec(write(tmp_path / "a.txt", "1 1 2\n2\n"))
    with pytest.raises(DataError, match=r"line 2.*appears twice"):
        load_s3rec(write(tmp_path / "b.txt", "1 1 2\n1 3\n"))
    write(tmp_path / "c_item2attributes.json", "{not json")
    with pytest.raises(DataError, match="invalid JSON"):
        load_s3rec(write(tmp_path / "c.txt", "1 1 2\n"))


def test_diginetica_views(tmp_path):
    f = write(
        tmp_path / "train-item-views.csv",
        "session_id;user_id;item_id;timeframe;eventdate\n"
        "1;NA;81766;526309;2016-05-09\n1;NA;31331;1031018;2016-05-09\n2;278;32118;0;2016-05-10\n",
    )
    v = load_diginetica(tmp_path)
    assert v["user_id"].tolist() == [None, None, "278"]
    assert v["timestamp"].iloc[1] == pd.Timestamp("2016-05-09", tz="UTC") + pd.Timedelta(milliseconds=1031018)
    ds = diginetica_dataset(v)
    assert ds.n_users == 2 and ds.n_events == 3  # sessions play users
    write(f, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;5;x;2016-05-09\n")
    with pytest.raises(DataError, match=r"line 2 field 'timeframe'"):
        load_diginetica(f)
    write(f, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;5;10;09/05/2016\n")
    with pytest.raises(DataError, match=r"line 2 field 'eventdate'"):
        load_diginetica(f)


# ------------------------------------------------------------------ Amazon reviews
def test_amazon_reviews_gz_records_and_events(tmp_path):
    rows = [
        {
            "overall": 5.0,
            "verified": True,
            "reviewerID": "A1",
            "asin": "B1",
            "reviewerName": "Tonya B.",
            "reviewText": "Great product!",
            "summary": "Five Stars",
            "unixReviewTime": 1441324800,
            "style": {"Size:": " Big Boys"},
            "vote": "1,234",
        },
        {"overall": 2.0, "reviewerID": "A2", "asin": "B1", "summary": "meh", "unixReviewTime": 1441324900},
    ]
    path = tmp_path / "reviews.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    frame = load_amazon_reviews(path)
    assert frame["id"].tolist() == ["r1", "r2"]
    assert frame.loc[0, "style"] == {"Size": "Big Boys"} and frame.loc[0, "votes"] == 1234
    assert "reviewerName" not in frame.columns  # display names are not carried
    recs = amazon_reviews_to_records(frame)
    assert isinstance(recs[0], Review) and recs[1].rating == 2 and recs[1].text == ""
    ev = amazon_rating_events(frame)
    assert ev["type"].tolist() == ["rating", "rating"] and ev["value"].tolist() == [5.0, 2.0]


def test_amazon_reviews_errors(tmp_path):
    with pytest.raises(DataError, match=r"line 2.*invalid JSON"):
        load_amazon_reviews(
            write(
                tmp_path / "a.json",
                '{"overall": 5, "reviewerID": "a", "asin": "b", "unixReviewTime": 1}\n{oops\n',
            )
        )
    with pytest.raises(DataError, match=r"line 1 field 'asin'"):
        load_amazon_reviews(
            write(tmp_path / "b.json", '{"overall": 5, "reviewerID": "a", "unixReviewTime": 1}\n')
        )
    with pytest.raises(DataError, match=r"line 1 field 'overall'.*6"):
        load_amazon_reviews(
            write(
                tmp_path / "c.json", '{"overall": 6, "reviewerID": "a", "asin": "b", "unixReviewTime": 1}\n'
            )
        )


# ------------------------------------------------------------------ chorus / Icecat
def _icecat_zip(path: Path, member: str, products: list[dict]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, json.dumps(products))


def test_chorus_icecat_products_and_judgments(tmp_path):
    _icecat_zip(
        tmp_path / "icecat_products_part1.json.zip",
        "1.json",
        [
            {
                "id": "1993197",
                "name": "MBS-100",
                "title": "Portable Bluetooth Speaker MBS-100",
                "supplier": "Acme",
                "price": 4995,
                "short_description": "Speaker",
                "date_released": "2009-12-10T00:00:00Z",
                "img_500x500": "http://img/1.jpg",
                "attr_t_product_type": "Speaker",
                "attr_b_bluetooth": True,
                "attr_n_weight": 350.0,
                "ean": ["0095205603217"],
            },
        ],
    )
    _icecat_zip(
        tmp_path / "icecat_products_part2.json.zip",
        "2.json",
        [
            {
                "id": "560439",
                "name": "rx5720",
                "title": "iPAQ rx5720 Travel Companion",
                "supplier": "HP",
                "price": 0,
            },
        ],
    )
    write(
        tmp_path / "Broad_Query_Set_rated.csv",
        "query,docid,rating\nbluetooth speaker,1993197,3\nbluetooth speaker,560439,0\nipaq,560439,2\n",
    )
    bench = load_chorus_icecat(tmp_path)
    p = bench.products.set_index("id")
    assert p.loc["1993197", "price"] == 49.95 and p.loc["1993197", "brand"] == "Acme"
    assert p.loc["1993197", "category"] == ["Speaker"]
    assert (
        p.loc["1993197", "attributes"]["bluetooth"] is True
        and p.loc["1993197", "attributes"]["model"] == "MBS-100"
    )
    assert bench.queries == ["bluetooth speaker", "ipaq"]
    assert bench.qrels == {"bluetooth speaker": {"1993197": 3, "560439": 0}, "ipaq": {"560439": 2}}
    items = icecat_to_items(bench.products)
    assert items[0].image_url == "http://img/1.jpg" and items[1].price == 0.0
    indiv = write(
        tmp_path / "ind.csv",
        "query,docid,name,description,agent_1_rating,agent_2_rating,agent_3_rating,final_rating\n"
        'bluetooth speaker,1993197,"Speaker, portable",x,2,3,3,3\n',
    )
    j = load_judgments(indiv)
    assert j.iloc[0].tolist() == ["bluetooth speaker", "1993197", 3, 2, 3, 3]


def test_chorus_errors(tmp_path):
    with pytest.raises(DataError, match=r"line 3 field 'rating'"):
        load_judgments(write(tmp_path / "j.csv", "query,docid,rating\na,1,3\na,2,7\n"))
    with pytest.raises(DataError, match="duplicate"):
        load_judgments(write(tmp_path / "k.csv", "query,docid,rating\na,1,3\na,1,2\n"))
    _icecat_zip(tmp_path / "p.json.zip", "1.json", [{"id": "1", "title": "ok"}, {"id": "2", "title": ""}])
    with pytest.raises(DataError, match=r"p.json.zip!1.json line 2 field 'title'"):
        from shopmind.datasets import load_icecat_products

        load_icecat_products(tmp_path / "p.json.zip")


# ------------------------------------------------------------------ dialogue
def test_banking77(tmp_path):
    write(
        tmp_path / "train.csv",
        'text,category\nI am still waiting on my card?,card_arrival\n"Hi, my card broke",card_not_working\n',
    )
    write(tmp_path / "test.csv", "text,category\nwhere is my card,card_arrival\n")
    write(tmp_path / "categories.json", json.dumps(["card_arrival", "card_not_working"]))
    data = load_banking77(tmp_path)
    assert data.train["text"].tolist()[1] == "Hi, my card broke"
    assert data.labels == ["card_arrival", "card_not_working"] and data.test.shape == (1, 2)
    write(tmp_path / "test.csv", "text,category\nwhere is my card,card_lost\n")
    with pytest.raises(DataError, match=r"test.csv line 2 field 'category'.*card_lost"):
        load_banking77(tmp_path)


def test_bitext_multiline_records(tmp_path):
    f = write(
        tmp_path / "bitext.csv",
        "context,role,instruction,intent,entity_type,entity_value,start_offset,end_offset,category,tags,response\n"
        'customer support,virtual assistant,cancel order 123?,cancel_order,order_id,123,13,16,ORDER,BIL,"Sure:\n\n1. Log in."\n'
        "customer support,virtual assistant,track it,track_order,,,,,ORDER,B,On its way\n",
    )
    frame = load_bitext(f)
    assert frame["intent"].tolist() == ["cancel_order", "track_order"]
    assert frame.loc[0, "response"] == "Sure:\n\n1. Log in." and frame.loc[1, "entity_type"] is None
    with pytest.raises(DataError, match="missing columns"):
        load_bitext(write(tmp_path / "x.csv", "instruction,intent\na,b\n"))


def test_ecd_files_and_groups(tmp_path):
    body = "1\t我 去\t韵达 不发 的 哦\t发 邮政 的 哦\n0\t我 去\t韵达 不发 的 哦\t那 不会 的 哦\n0\t你好\t在吗\n1\t你好\t在 的\n"
    for split in ("train", "valid", "test"):
        write(tmp_path / f"{split}.txt", body)
    data = load_ecd_taobao(tmp_path)
    test = data["test"]
    assert test["context"].iloc[0] == ["我 去", "韵达 不发 的 哦"] and test["label"].tolist() == [1, 0, 0, 1]
    assert ecd_groups(test) == [
        (["我 去", "韵达 不发 的 哦"], ["发 邮政 的 哦", "那 不会 的 哦"], 0),
        (["你好"], ["在吗", "在 的"], 1),
    ]
    write(tmp_path / "test.txt", "2\ta\tb\n")
    with pytest.raises(DataError, match=r"test.txt line 1 field 'label'"):
        load_ecd_taobao(tmp_path)


# ------------------------------------------------------------------ retail sales
def test_retail_sales_long_frames(tmp_path):
    w = write(
        tmp_path / "walmart_sales_weekly.csv",
        "id,Store,Dept,Date,Weekly_Sales,IsHoliday,Type,Size,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment\n"
        "1_3,1,3,2010-02-12,100.5,True,A,1,1,1,,,,,,1,1\n1_1,1,1,2010-02-05,24924.5,False,A,1,1,1,10,,5,,,1,1\n",
    )
    walmart = load_walmart_weekly(w)
    assert walmart["unique_id"].tolist() == ["1_1", "1_3"]  # sorted by series and date
    assert walmart["markdown"].tolist() == [15.0, 0.0] and walmart["is_holiday"].tolist() == [False, True]
    points = to_sales_points(walmart)
    assert (
        isinstance(points[0], SalesPoint)
        and points[0].units == 24924.5
        and str(points[0].date) == "2010-02-05"
    )
    a = tmp_path / "aus_retail.csv.gz"
    with gzip.open(a, "wt") as fh:
        fh.write(
            'State,Industry,Series ID,Month,Turnover\nACT,"Cafes, restaurants",A1,1982-04,4.4\nACT,"Cafes, restaurants",A1,1982-05,3.4\n'
        )
    aus = load_aus_retail(tmp_path)
    assert aus["ds"].tolist() == [pd.Timestamp("1982-04-01"), pd.Timestamp("1982-05-01")]
    assert aus["industry"].iloc[0] == "Cafes, restaurants"
    us = load_us_retail(
        write(tmp_path / "example_retail_sales.csv", "ds,y\n1992-01-01,146376\n1992-02-01,147079\n")
    )
    assert us.columns.tolist() == ["unique_id", "ds", "y"] and us["y"].sum() == 293455


def test_retail_sales_errors(tmp_path):
    with pytest.raises(DataError, match=r"line 3 field 'y'"):
        load_us_retail(write(tmp_path / "a.csv", "ds,y\n1992-01-01,1\n1992-02-01,n/a\n"))
    with pytest.raises(DataError, match=r"line 2 field 'ds'"):
        load_us_retail(write(tmp_path / "b.csv", "ds,y\n01/1992,1\n"))
    with pytest.raises(DataError, match="duplicate"):
        load_us_retail(write(tmp_path / "c.csv", "ds,y\n1992-01-01,1\n1992-01-01,2\n"))
    neg = pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2020-01-01")], "y": [-1.0]})
    with pytest.raises(DataError, match="negative"):
        to_sales_points(neg)


def test_frame_to_records_names_row_and_field():
    frame = pd.DataFrame({"id": ["a", "b"], "title": ["ok", "ok"], "price": [1.0, -5.0], "extra": [1, 2]})
    with pytest.raises(DataError, match=r"field 'price': row 1 \(0-based\) is not a valid Item"):
        frame_to_records(frame, Item, source="x")
    assert [i.id for i in frame_to_records(frame.head(1), Item)] == ["a"]  # extra columns ignored
