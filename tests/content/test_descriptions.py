"""Descriptions from attributes only: every claim traceable to a field, in en and zh, all styles."""

from __future__ import annotations

import pytest

from shopmind.content.descriptions import STYLES, describe, item_claims, value_text
from shopmind.data.schema import Item
from shopmind.errors import ConfigError

ITEM = Item(
    id="SKU1",
    title="Sony BS-986 Portable Speaker, Black",
    brand="Sony",
    category=["Electronics", "Audio", "Speakers"],
    price=107.99,
    attributes={"colour": "Black", "bluetooth": True, "waterproof": True, "battery_hours": 20},
    stock=5,
)


def _field_value(item: Item, field: str):
    if field.startswith("attributes."):
        return item.attributes[field.split(".", 1)[1]]
    if field == "category":
        return item.category[-1]
    return getattr(item, field)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_claim_is_traceable(style, language):
    desc = describe(ITEM, style=style, language=language)
    assert desc.claims, "a description states at least the title"
    for claim in desc.claims:
        assert claim.value == _field_value(ITEM, claim.field), claim
        assert value_text(claim.value, language) in claim.text or claim.field == "stock"
        assert claim.text in desc.text or claim.field in (
            "brand",
            "category",
        )  # seo puts them in the title tag
        assert value_text(claim.value, language) in desc.text or claim.field == "stock"


def test_nothing_beyond_the_claims():
    desc = describe(ITEM, style="bullet")
    lines = desc.text.splitlines()
    assert lines[0] == ITEM.title
    assert [line.removeprefix("- ") for line in lines[1:]] == [c.text for c in desc.claims[1:]]
    assert "Bluetooth: yes" in desc.text and "Price: 107.99 USD" in desc.text


def test_chinese_labels_and_values():
    desc = describe(ITEM, style="short", language="zh")
    assert "蓝牙：是" in desc.text and "价格：107.99 USD" in desc.text


def test_seo_fields_within_limits():
    desc = describe(ITEM, style="seo")
    assert desc.seo is not None
    # the brand is already in the title, so the tag adds only the category
    assert desc.seo["title"] == f"{ITEM.title} | Speakers"
    assert len(desc.seo["meta_description"]) <= 160
    assert "Speakers" in desc.seo["keywords"]


def test_missing_fields_make_no_claims():
    bare = Item(id="X", title="Plain mug")
    claims = item_claims(bare)
    assert [c.field for c in claims] == ["title"]
    assert describe(bare, "short").text.startswith("Plain mug")


def test_bad_style_or_language():
    with pytest.raises(ConfigError):
        describe(ITEM, style="poem")
    with pytest.raises(ConfigError):
        describe(ITEM, language="fr")


def test_descriptions_for_the_tiny_shop(store):
    frame = store.items_frame().head(40)
    for item_id in frame["id"]:
        item = store.get_item(item_id)
        for style in STYLES:
            desc = describe(
                item, style=style, language=item.language if item.language in ("en", "zh") else "en"
            )
            for claim in desc.claims:
                assert claim.value == _field_value(item, claim.field)
