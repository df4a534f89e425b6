"""Slot extractors (shopmind.assistant.slots): order ids, phone tails, amounts, Chinese dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shopmind.assistant.slots import OrderIdFormat, amounts, dates, extract, fold_width, phone_tail

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 2025-03-12, 15:00 in Shanghai
NOW = datetime(2025, 3, 12, 7, 0, tzinfo=UTC)
FORMAT = OrderIdFormat.learn(["ORD-0001-000003", "ORD-0002-000104", "ORD-0010-123456"])


def test_fold_width_keeps_length_and_folds_full_width_forms():
    text = "ＯＲＤ－０００１　￥９９"
    assert fold_width(text) == "ORD-0001 ¥99"
    assert len(fold_width(text)) == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "查询订单ORD-0001-000003",
        "订单号：ＯＲＤ－０００１－０００００３",
        "ord 0001 000003 到哪了",
        "订单号ORD0001000003",
        "订单 ORD_0001_000003 的物流",
        "订单ORD—0001—000003",
    ],
)
def test_order_ids_in_the_shops_format_are_found_however_typed(text):
    assert [oid for oid, _ in FORMAT.find(text)] == ["ORD-0001-000003"]


def test_order_id_shapes_need_enough_digits_and_mixed_formats_are_kept():
    # too few digits: a loose match would take prices and phone tails for ids
    assert OrderIdFormat.learn(["A-12", "B-34"]).shapes == ()
    mixed = OrderIdFormat.learn(["ORD-0001-000003", "2024031500001", "XY-123456"])
    assert len(mixed.shapes) == 3
    assert [o for o, _ in mixed.find("单号 2024 0315 00001")] == ["2024031500001"]
    # letters of a shape seen with different prefixes stay a class, canonical upper case
    assert [o for o, _ in mixed.find("xy 123456")] == ["XY-123456"]
    assert mixed.find("ORD-0001-00000") == []  # one digit short


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("尾号1234", "1234"),
        ("手机后四位是1234", "1234"),
        ("我的手机尾号是一二三四", "1234"),
        ("电话号码后4位:5678", "5678"),
        ("手机号末四位 ０９８７", "0987"),
        ("phone ending in 4321", "4321"),
        ("the last four digits are 9876", "9876"),
    ],
)
def test_phone_tail(text, tail):
    found = phone_tail(text)
    assert found is not None and found[0] == tail


@pytest.mark.parametrize("text", ["1234", "订单1234", "尾号123", "尾号12345", "后四位"])
def test_no_phone_tail_without_the_words_or_with_the_wrong_length(text):
    assert phone_tail(text) is None


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("退99元", 99.0, None),
        ("九十九块", 99.0, None),
        ("¥99.5", 99.5, "CNY"),
        ("￥９９.５", 99.5, "CNY"),
        ("九十九块五", 99.5, None),
        ("99块5毛", 99.5, None),
        ("两百块钱", 200.0, None),
        ("一百二十元", 120.0, None),
        ("$20", 20.0, "USD"),
        ("20 dollars", 20.0, "USD"),
        ("三十美元", 30.0, "USD"),
    ],
)
def test_amounts(text, value, currency):
    found = amounts(text)
    assert len(found) == 1
    assert found[0].value == pytest.approx(value)
    assert found[0].currency == currency


def test_no_amount_in_text_with_numerals_that_are_not_money():
    assert amounts("帮我查一下订单") == []
    assert amounts("我要买三个") == []


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("上周三", "2025-03-05T00:00", "2025-03-06T00:00"),
        ("昨天", "2025-03-11T00:00", "2025-03-12T00:00"),
        ("3月5日", "2025-03-05T00:00", "2025-03-06T00:00"),
        ("三月五号", "2025-03-05T00:00", "2025-03-06T00:00"),
        ("前天下午", "2025-03-10T12:00", "2025-03-10T18:00"),
        ("大前天", "2025-03-09T00:00", "2025-03-10T00:00"),
        ("两天前", "2025-03-10T00:00", "2025-03-11T00:00"),
        ("上个月15号", "2025-02-15T00:00", "2025-02-16T00:00"),
        ("这周一", "2025-03-10T00:00", "2025-03-11T00:00"),
        ("上星期天", "2025-03-09T00:00", "2025-03-10T00:00"),
        ("周五", "2025-03-07T00:00", "2025-03-08T00:00"),  # the latest Friday, not the coming one
        ("上周", "2025-03-03T00:00", "2025-03-10T00:00"),
        ("上个月", "2025-02-01T00:00", "2025-03-01T00:00"),
        ("去年12月1日", "2024-12-01T00:00", "2024-12-02T00:00"),
        ("12月31日", "2024-12-31T00:00", "2025-01-01T00:00"),  # not after today: last year
        ("2025年1月2日晚上", "2025-01-02T18:00", "2025-01-03T00:00"),
        ("昨晚", "2025-03-11T18:00", "2025-03-12T00:00"),
    ],
)
def test_dates_resolved_at_the_conversations_time(text, start, end):
    found = dates(f"我{text}买的耳机到哪了", NOW, SHANGHAI)
    assert len(found) == 1, found
    assert found[0].start == datetime.fromisoformat(start).replace(tzinfo=SHANGHAI)
    assert found[0].end == datetime.fromisoformat(end).replace(tzinfo=SHANGHAI)


def test_dates_follow_the_time_zone_and_reject_a_naive_now():
    # 2025-03-11 23:30 UTC is already the 12th in Shanghai: "昨天" is the 11th there, the 10th in UTC
    late = datetime(2025, 3, 11, 23, 30, tzinfo=UTC)
    assert dates("昨天", late, SHANGHAI)[0].start.day == 11
    assert dates("昨天", late, UTC)[0].start.day == 10
    with pytest.raises(ValueError, match="naive"):
        dates("昨天", datetime(2025, 3, 12), UTC)  # a naive time: the error under test
    assert dates("2月30日", NOW, UTC) == []  # no such day


def test_extract_keeps_one_slot_from_being_read_as_another():
    slots = extract(
        "订单号ＯＲＤ０００１０００００３，尾号1234，3月5日买的99元",
        order_format=FORMAT,
        now=NOW,
        tz=SHANGHAI,
    )
    assert slots.order_ids == ("ORD-0001-000003",)
    assert slots.phone_tail == "1234"
    assert [a.value for a in slots.amounts] == [99.0]
    assert [d.start.day for d in slots.dates] == [5]
    assert slots.selects_order
    assert extract("尾号1234", order_format=FORMAT, now=NOW, tz=SHANGHAI).order_ids == ()


def test_date_label():
    day = dates("上周三", NOW, SHANGHAI)[0]
    week = dates("上周", NOW, SHANGHAI)[0]
    assert day.label() == "2025-03-05"
    assert week.label("zh") == "2025-03-03 至 2025-03-09"
    assert week.contains(datetime(2025, 3, 9, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert not week.contains(datetime(2025, 3, 9, 16, 0, tzinfo=UTC) + timedelta(seconds=0))
