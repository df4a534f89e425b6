"""No query crashes search: token-less judged queries in ``evaluate search``, arbitrary text in the engine,
the service and the HTTP route (hypothesis)."""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shopmind.datasets.judged import read_products
from shopmind.evaluate.search import JudgedSet, baseline_runs, evaluate
from shopmind.search.engine import ProductSearch

from .conftest import HashEncoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

MODES = ("bm25", "semantic", "hybrid", "ltr")

ODD_QUERIES = [
    "",
    " ",
    "\t\n",
    "8 x 1/2",
    "1/2",
    "!!!",
    "???",
    "-",
    "*",
    '"',
    "'",
    "%",
    "\\",
    "\x00",
    "\u200b",  # zero-width space
    "\ufeff",
    "OR AND NOT",
    "()[]{}<>",
    "<em>x</em>",
    "12345",
    "0",
    "3.5",
    "é",
    "中",
    "耳机 headphones наушники سماعات 🎧",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "a" * 10_000,
    "耳机" * 5_000,
    "red " * 2_500,
]


def text_strategy(max_size: int = 300) -> st.SearchStrategy[str]:
    """Arbitrary Unicode, punctuation-only, digits-only, mixed scripts, and the hand-picked odd queries."""
    mixed = st.characters(
        categories=("L", "N", "P", "S", "Z", "M"),
        exclude_characters="\ud800",  # surrogates cannot be encoded
    )
    return st.one_of(
        st.sampled_from(ODD_QUERIES),
        st.text(max_size=max_size),
        st.text(alphabet=string.punctuation + " ", max_size=40),
        st.text(alphabet=string.digits + " ./x", max_size=40),
        st.text(alphabet=mixed, max_size=60),
        st.builds(lambda s, n: (s or "x") * n, st.text(min_size=1, max_size=8), st.integers(1, 2000)),
    )


FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


# --------------------------------------------------------------------------- evaluate search
@pytest.fixture
def judged_with_tokenless(tmp_path: Path) -> tuple[Path, Path, Path]:
    products = [
        {"id": "a", "title": "Red running shoe", "brand": "Swift"},
        {"id": "b", "title": "Blue cotton shirt 8 x 1/2 inch", "brand": "Basic"},
        {"id": "c", "title": "Red cotton shirt", "brand": "Basic"},
        {"id": "d", "title": "Trail running shoes waterproof", "brand": "Swift"},
        {"id": "e", "title": "Wool socks", "brand": "Warm"},
        {"id": "f", "title": "Cotton socks red", "brand": "Warm"},
    ]
    p = tmp_path / "products.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in products) + "\n")
    q = tmp_path / "queries.tsv"
    q.write_text("q1\tred shirt\nq2\trunning shoes\nq3\tsocks\nq4\t8 x 1/2\nq5\t!!!\nq6\tcotton\n")
    r = tmp_path / "qrels.txt"
    r.write_text(
        "q1 0 c 3\nq1 0 b 1\nq2 0 a 3\nq2 0 d 2\nq3 0 e 2\nq3 0 f 3\nq4 0 b 3\nq5 0 a 1\nq6 0 b 2\nq6 0 c 2\n"
    )
    return p, q, r


def test_baseline_scores_tokenless_query_as_empty(judged_with_tokenless) -> None:
    """The crash of issue 13: bm25s' get_scores([]) raised IndexError for ``8 x 1/2``."""
    p, _, _ = judged_with_tokenless
    runs = baseline_runs(read_products(p), {"q4": "8 x 1/2", "q5": "", "q1": "red shirt"})
    assert runs["q4"] == [] and runs["q5"] == []
    assert [d for d, _ in runs["q1"]][:2] == ["c", "b"] or runs["q1"][0][0] == "c"


def test_evaluate_every_mode_keeps_and_reports_tokenless_queries(judged_with_tokenless) -> None:
    from shopmind.datasets.judged import read_qrels, read_queries

    p, q, r = judged_with_tokenless
    judged = JudgedSet("t", read_products(p), read_queries(q), read_qrels(r))
    out = evaluate(judged, list(MODES), encoder=HashEncoder(), cache_dir=None, folds=3)
    assert out["n_queries"] == 6
    assert out["n_tokenless_queries"] == 2 and out["tokenless_queries"] == ["q4", "q5"]
    base = out["rows"][0]
    assert base["name"] == "bm25s-title"
    assert out["runs"]["bm25s-title"]["q4"] == [] and out["runs"]["bm25s-title"]["q5"] == []
    # the baseline's zero-result rate counts them: the queries were kept in the mean
    assert base["metrics"]["zero_result_rate"] >= 2 / 6 - 1e-6
    assert [row["name"] for row in out["rows"]] == ["bm25s-title", *MODES]
    for row in out["rows"]:
        assert 0.0 <= row["metrics"]["ndcg@10"] <= 1.0
        assert set(out["runs"][row["name"]]) == {"q1", "q2", "q3", "q4", "q5", "q6"}


def test_cli_evaluate_search_reports_tokenless_queries(judged_with_tokenless, tmp_path: Path) -> None:
    from shopmind.cli import app

    p, q, r = judged_with_tokenless
    out_json = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "search", "--products", str(p), "--queries", str(q), "--qrels", str(r),
         "--mode", "bm25", "--json", str(out_json)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 6 judged queries have no indexable token" in " ".join(result.output.split())
    assert json.loads(out_json.read_text())["n_tokenless_queries"] == 2


# --------------------------------------------------------------------------- engine and service
@FUZZ
@given(query=text_strategy(), mode=st.sampled_from(MODES))
def test_engine_answers_any_query(engine: ProductSearch, query: str, mode: str) -> None:
    res = engine.search(query, k=5, mode=mode)
    assert res.total >= 0 and len(res.hits) <= 5
    ids = engine.rank_ids(query, k=5, mode=mode)
    assert len(ids) <= 5 and all(isinstance(d, str) for d, _ in ids)


@FUZZ
@given(query=text_strategy())
def test_engine_suggest_and_filtered_search_any_text(engine: ProductSearch, query: str) -> None:
    engine.suggest(query, k=5)
    engine.search(query, k=3, filters={"brand": query[:50]}, sort="price")


@pytest.fixture
def service(tmp_path: Path, encoder: HashEncoder) -> Iterator[Any]:
    from shopmind.search.service import SearchService
    from shopmind.store import open_store

    from .conftest import ITEMS, POPULARITY, RATING

    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    eng = ProductSearch.build(ITEMS, popularity=POPULARITY, rating=RATING, encoder=encoder)
    yield SearchService(eng, store)
    store.close()


@FUZZ
@given(query=text_strategy())
def test_service_answers_and_logs_any_query(service: Any, query: str) -> None:
    res = service.search(query, k=5, user_id="u1", log=True)
    assert res.total >= 0
    assert res.search_id is not None  # the query was logged, odd characters and all


# --------------------------------------------------------------------------- HTTP route
@pytest.fixture(scope="module")
def http_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from apishop import trained_engine
    from fastapi.testclient import TestClient

    from shopmind.api import create_app

    engine, keys = trained_engine(Path(tmp_path_factory.mktemp("robust")), components=["search"])
    with TestClient(create_app(engine, watch_interval_s=None), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {keys['read']}"}
    engine.close()


@FUZZ
@given(query=text_strategy(), mode=st.sampled_from(MODES))
def test_http_search_never_answers_5xx(http_shop: tuple[Any, dict[str, str]], query: str, mode: str) -> None:
    client, headers = http_shop
    query = query[:4000]  # the HTTP client refuses URLs over 64 kB (a 10 kB CJK query encodes to 90 kB)
    r = client.get("/search", params={"q": query, "mode": mode, "k": 5}, headers=headers)
    assert r.status_code < 500, (query[:50], r.status_code, r.text[:300])
    if 1 <= len(query) <= 500:
        assert r.status_code == 200, (query[:50], r.text[:300])
        assert isinstance(r.json()["hits"], list)
    else:
        assert r.status_code == 422  # empty or over 500 characters: a clear validation error
    s = client.get("/search/suggest", params={"q": query[:100] or "x"}, headers=headers)
    assert s.status_code < 500, (query[:50], s.status_code, s.text[:300])
