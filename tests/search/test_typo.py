"""Typo tolerance: edit budget by word length, Damerau distance, frequency tie-break."""

from __future__ import annotations

import pytest

from shopmind.search.typo import TypoCorrector, damerau_levenshtein, max_edits


@pytest.mark.parametrize(
    ("word", "edits"), [("tv", 0), ("sony", 0), ("mouse", 1), ("keyboard", 1), ("headphone", 2)]
)
def test_budget(word, edits):
    assert max_edits(word) == edits


def test_distance():
    assert damerau_levenshtein("kitten", "sitting") == 3
    assert damerau_levenshtein("ab", "ba") == 1
    assert damerau_levenshtein("same", "same") == 0


def test_corrections():
    t = TypoCorrector(TypoCorrector.words_of(["wireless headphones", "keyboard keyboard", "keybored"]))
    assert t.correct_word("wireles") == "wireless"  # 7 letters, 1 edit
    assert t.correct_word("hedphnes") is None  # 8 letters, 2 edits: over budget
    assert t.correct_word("headphnes") == "headphones"  # 9 letters, 1 edit
    assert t.correct_word("haedphnes") == "headphones"  # swap + delete: 2 edits allowed at 9
    assert t.correct_word("keybord") == "keyboard"  # both at distance 1: the more frequent wins
    assert t.correct_word("mose") is None  # too short
    assert t.correct_word("tn2110") is None  # model numbers are left alone
    assert t.correct("Wireles KEYBORD 2tb") == (
        "wireless keyboard 2tb",
        {"wireles": "wireless", "keybord": "keyboard"},
    )
    assert t.correct("nothing wrong")[0] == "nothing wrong"


def test_incremental_add():
    t = TypoCorrector(TypoCorrector.words_of(["speaker"]))
    assert t.correct_word("soundbarr") is None
    t.add(["soundbar deluxe"])
    assert t.correct_word("soundbarr") == "soundbar"
