"""Product constraints: the price grammar, the catalogue vocabulary, and answers that respect them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from shopmind.assistant.constraints import (
    MAX_TEXT_CHARS,
    CatalogSnapshot,
    CatalogVocabulary,
    Constraints,
    find_prices,
)
from shopmind.data.schema import Item
from shopmind.errors import DataError
from shopmind.text import normalize


def _items() -> list[dict[str, Any]]:
    """A small bilingual shop: headphones (en + zh titles), TVs, running shoes, and a Chinese tea shelf."""
    rows: list[dict[str, Any]] = []
    for i, price in enumerate([29.99, 45.0, 50.0, 89.99, 149.99, 364.99, 199.0, 249.0]):
        zh = i % 2 == 1
        brand = "Sony" if i < 6 else "Bose"
        rows.append(
            {
                "id": f"hp-{i}",
                "title": f"{'索尼' if brand == 'Sony' else '博士'} WH-{100 + i} 降噪耳机 黑色"
                if zh
                else f"{brand} WH-{100 + i} Wireless Headphones, Black",
                "category": ["Electronics", "Audio", "Headphones"],
                "brand": brand,
                "price": price,
                "attributes": {"colour": "Black", "battery_hours": 50, "noise_cancelling": i % 2 == 0},
                "language": "zh" if zh else "en",
            }
        )
    for i, price in enumerate([299.0, 499.0, 799.0]):
        rows.append(
            {
                "id": f"tv-{i}",
                "title": f'Hisense 4S-{i}00 4K Smart TV, 50"',
                "category": ["Electronics", "TV & Video", "Televisions"],
                "brand": "Hisense",
                "price": price,
                "attributes": {"screen_size": '50"'},
            }
        )
    for i, price in enumerate([59.0, 79.0, 119.0, 139.0]):
        rows.append(
            {
                "id": f"rs-{i}",
                "title": f"Nike RS-{i}0{i} Running Shoes, EU 42" if i % 2 else f"耐克 RS-{i}0{i} 跑步鞋 42码",
                "category": ["Fashion", "Shoes", "Running Shoes"],
                "brand": "Nike",
                "price": price,
                "attributes": {"size": "42"},
            }
        )
    rows += [
        {
            "id": "tea-1",
            "title": "西湖龙井 明前 250g",
            "category": ["茶叶", "绿茶"],
            "brand": "狮峰",
            "price": 88.0,
        },
        {
            "id": "tea-2",
            "title": "碧螺春 特级 100g",
            "category": ["茶叶", "绿茶"],
            "brand": "碧螺",
            "price": 45.0,
        },
        {
            "id": "cup-1",
            "title": "景德镇 青花 盖碗 绿茶杯",
            "category": ["茶具", "盖碗"],
            "brand": "景德",
            "price": 35.0,
        },
    ]
    for r in rows:
        r.setdefault("attributes", {})
        r.setdefault("language", "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in r["title"]) else "en")
        r.setdefault("currency", "USD")
        r.setdefault("stock", 10)
    return rows


@pytest.fixture(scope="module")
def vocab() -> CatalogVocabulary:
    return CatalogVocabulary.build(pd.DataFrame(_items()))


def _bounds(text: str) -> list[tuple[float | None, float | None]]:
    return [(p.low, p.high) for p in find_prices(normalize(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("do you sell headphones under $50?", [(None, 50.0)]),
        ("less than 50 dollars", [(None, 50.0)]),
        ("anything below 50", [(None, 50.0)]),
        ("between 20 and 40", [(20.0, 40.0)]),
        ("socks $20-$40", [(20.0, 40.0)]),
        ("from $20 to $40", [(20.0, 40.0)]),
        ("over 100", [(100.0, None)]),
        ("laptops under $1,500", [(None, 1500.0)]),
        ("50元以内的耳机", [(None, 50.0)]),
        ("50块以下", [(None, 50.0)]),
        ("不超过50元", [(None, 50.0)]),
        ("20到40元的袜子", [(20.0, 40.0)]),
        ("100元以上", [(100.0, None)]),
        ("５０元以内", [(None, 50.0)]),  # full-width digits
        ("headphones for $50", [(None, 50.0)]),
    ],
)
def test_price_phrases(text: str, expected: list) -> None:
    assert _bounds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "headphones with battery hours: 50",
        "a 50 inch TV",
        "running shoes size 42",
        "battery life over 50",
        "battery over 50 hours",
        "up to 30 days to return",
        "more than 3 colours",
        "续航50小时以上的耳机",
        "不超过2双",
        "model RB-500 spare heads",
        "SPF50 sunscreen",
        "I have 2 kids",
    ],
)
def test_other_numbers_are_not_prices(text: str) -> None:
    assert _bounds(text) == []


def test_categories_brands_attributes_from_the_catalogue(vocab: CatalogVocabulary) -> None:
    c = vocab.extract("do you sell headphones under $50?")
    assert c.price_max == 50.0 and c.price_min is None
    assert c.categories == (("Electronics", "Audio", "Headphones"),)
    # Chinese word for a category whose path is English: learnt from the Chinese titles
    zh = vocab.extract("50元以内的耳机")
    assert zh.categories == (("Electronics", "Audio", "Headphones"),) and zh.price_max == 50.0
    # Chinese brand alias from the titles, English brand name as carried
    assert vocab.extract("索尼耳机").brands == ("Sony",)
    assert vocab.extract("Bose headphones over $100").brands == ("Bose",)
    # attribute values and boolean attribute names
    assert ("colour", "Black") in vocab.extract("black headphones").attributes
    assert ("noise_cancelling", True) in vocab.extract("noise cancelling headphones").attributes
    # a category path carried in Chinese: 绿茶 is the tea, not the cup whose title says 绿茶杯
    tea = vocab.extract("有没有绿茶？")
    assert tea.categories == (("茶叶", "绿茶"),)


def test_numbers_that_are_not_prices_leave_the_bound_alone(vocab: CatalogVocabulary) -> None:
    c = vocab.extract("headphones with battery hours: 50")
    assert not c.has_price and c.categories == (("Electronics", "Audio", "Headphones"),)
    assert not vocab.extract("a 50 inch TV").has_price
    c = vocab.extract("running shoes size 42 under 100")
    assert (c.price_min, c.price_max) == (None, 100.0)


def test_the_clause_with_the_price_names_the_product(vocab: CatalogVocabulary) -> None:
    c = vocab.extract("I have a 50 inch TV. Do you sell headphones under $100?")
    assert c.categories == (("Electronics", "Audio", "Headphones"),) and c.price_max == 100.0
    zh = vocab.extract("我家电视是50英寸的，100元以内的耳机有吗？")
    assert zh.categories == (("Electronics", "Audio", "Headphones"),)


def test_snapshot_mask_and_matches_agree() -> None:
    items = _items()
    snap = CatalogSnapshot.build(pd.DataFrame(items))
    c = snap.vocabulary.extract("Sony headphones between 40 and 100 dollars")
    got = set(snap.ids[snap.mask(c)].tolist())
    want = {
        r["id"]
        for r in items
        if c.matches(price=r["price"], brand=r["brand"], category=r["category"], attributes=r["attributes"])
    }
    assert got == want == {"hp-1", "hp-2", "hp-3"}


def test_limits_and_empty_catalogue() -> None:
    empty = CatalogVocabulary.build(pd.DataFrame(columns=["id", "title", "category", "brand", "attributes"]))
    assert empty.extract("headphones under $50").categories == ()
    with pytest.raises(DataError):
        empty.extract("x" * (MAX_TEXT_CHARS + 1))
    assert Constraints().empty and not Constraints(price_max=5.0).empty


# ---------------------------------------------------------------- answers (a store, no search service)
@pytest.fixture
def small_store(tmp_path):
    from shopmind.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    store.upsert_items([Item.model_validate(r) for r in _items()])
    yield store
    store.close()


def test_list_respects_the_price_and_says_when_nothing_matches(small_store) -> None:
    from shopmind.assistant.tools import ProductTools

    tools = ProductTools(small_store)
    res = tools.answer("do you sell headphones under $50?")
    assert res.ok and res.data["matches"]
    prices = {it["item_id"]: it["price"] for it in res.facts["items"]}
    assert set(prices) == {"hp-0", "hp-1", "hp-2"} and all(p <= 50 for p in prices.values())
    assert "364.99" not in res.text
    none = tools.answer("do you sell headphones under $20?")
    assert none.data["matches"] == [] and "don't have" in none.text
    # the cheapest headphones are offered, labelled as alternatives
    assert none.data["alternatives"][0] == "hp-0"
    zh = tools.answer("20元以内的耳机", language="zh")
    assert zh.data["matches"] == [] and "抱歉" in zh.text
    tea = tools.answer("有没有绿茶？", language="zh")
    assert set(tea.data["matches"]) == {"tea-1", "tea-2"}


def test_one_named_product_is_still_described(small_store) -> None:
    from shopmind.assistant.tools import ProductTools

    res = ProductTools(small_store).answer("Does the Sony WH-100 Wireless Headphones have noise cancelling?")
    assert res.name == "product_question" and res.data["item_id"] == "hp-0"


# ---------------------------------------------------------------- chat turns on the tiny demo shop
def _headphone_prices(store) -> dict[str, float]:
    frame = store.items_frame()
    return {
        r.id: float(r.price)
        for r in frame.itertuples()
        if list(r.category)[-1:] == ["Headphones"] and r.price == r.price
    }


def test_chat_lists_only_products_within_the_asked_price(service, store) -> None:
    prices = _headphone_prices(store)
    cheapest = min(prices.values())
    bound = int(sorted(prices.values())[len(prices) // 2]) + 1
    r = service.chat(f"do you sell headphones under ${bound}?")
    assert r.tool == "product_search" and r.intent == "product_question"
    shown = [p for p in r.products if p["match"]]
    assert shown and all(p["item_id"] in prices and p["price"] <= bound for p in shown)
    zh = service.chat(f"{bound}元以内的耳机有吗？")
    assert zh.language == "zh" and "有的" in zh.text
    assert all(p["item_id"] in prices and p["price"] <= bound for p in zh.products if p["match"])
    # nothing that cheap: said plainly, the closest offered as alternatives, none passed off as a match
    low = max(1, int(cheapest) - 20)
    none = service.chat(f"do you sell headphones under ${low}?")
    assert "don't have" in none.text and not [p for p in none.products if p["match"]]
    assert none.products and min(p["price"] for p in none.products) == cheapest


def test_shopping_question_is_not_taken_for_another_intent(service) -> None:
    r = service.chat("grinder under 50 dollars")
    assert r.intent == "product_question" and r.tool == "product_search"
    assert "grinder" in r.text and "didn't quite get" not in r.text
    assert not [p for p in r.products if p["match"]]  # the tiny shop sells no grinders


def test_policy_question_without_help_pages_says_so_and_offers_a_person(trained_dir, store) -> None:
    from shopmind.assistant.dialogue import Assistant
    from shopmind.assistant.intents import IntentClassifier

    bot = Assistant(store, IntentClassifier.load(trained_dir / "intents"), None)
    r = bot.chat("what is your return policy?")
    assert r.intent == "return_policy" and not r.grounded
    assert "didn't quite get" not in r.text and "member of our team" in r.text
    follow = bot.chat("yes", conversation_id=r.conversation_id)
    assert follow.tool == "handoff" and follow.handoff_ticket_id
    zh = bot.chat("你们的退货政策是什么？")
    assert "人工客服" in zh.text and "没有理解" not in zh.text
    declined = bot.chat("不用了", conversation_id=zh.conversation_id)
    assert declined.tool is None and declined.handoff_ticket_id is None and "还有什么" in declined.text


@pytest.mark.parametrize(
    ("message", "product"),
    [
        ("do you sell headphones?", True),
        ("我想买耳机", True),
        ("how much is shipping for headphones?", False),  # a policy question about a product
        ("I want to talk to a person about headphones", False),
    ],
)
def test_category_questions_are_routed_by_what_else_they_say(service, message: str, product: bool) -> None:
    r = service.chat(message)
    assert (r.tool == "product_search") is product, (r.intent, r.tool, r.text)


def test_a_name_the_catalogue_does_not_know_is_not_ignored(small_store) -> None:
    from shopmind.assistant.tools import ProductTools

    tools = ProductTools(small_store)
    res = tools.answer("do you sell Bosch headphones under $100?")
    assert res.data["matches"] == [] and "don't have any bosch Headphones" in res.text
    assert res.data["alternatives"] and all(i.startswith("hp-") for i in res.data["alternatives"])
    # a word the titles use is a description, not an unknown name
    assert tools.answer("wireless headphones under $100").data["matches"]
