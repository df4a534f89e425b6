"""Remembered training choices (``shopmind.train_cache``): the fingerprint sees every change, the cache
returns exactly what was stored, a damaged entry is a miss, old entries are pruned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.data.dataset import Dataset
from shopmind.train_cache import ChoiceCache, Fingerprint, code_digest


def _dataset(extra: bool = False, title: str = "Kettle", weight: float = 5.0) -> Dataset:
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2"] + (["u2"] if extra else []),
            "item_id": ["a", "b", "a", "c"] + (["b"] if extra else []),
            "type": ["view", "purchase", "view", "cart"] + (["view"] if extra else []),
            "timestamp": [10, 20, 30, 40] + ([50] if extra else []),
        }
    )
    items = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "title": [title, "Mug", "Tea"],
            "attributes": [{"colour": "red"}, {}, {"size": [1, 2]}],  # nested values are hashed too
            "price": [10.0, 5.0, 3.0],
        }
    )
    from shopmind.data.dataset import EventWeights

    return Dataset.from_frame(
        events, items=items, weights=EventWeights(weights={"view": 1.0, "cart": 3.0, "purchase": weight})
    )


def _key(dataset: Dataset, settings: dict | None = None) -> str:
    return Fingerprint("t").add_json(settings or {"k": 1}).add_dataset(dataset).hexdigest()


def test_fingerprint_is_stable_and_sees_every_change() -> None:
    base = _key(_dataset())
    assert _key(_dataset()) == base  # the same data read again: the same key
    changed = {
        "a new event": _key(_dataset(extra=True)),
        "an item's title": _key(_dataset(title="Teapot")),
        "an event weight": _key(_dataset(weight=4.0)),
        "a setting": _key(_dataset(), {"k": 2}),
    }
    assert all(key != base for key in changed.values()), changed
    assert len(set(changed.values())) == len(changed)
    assert Fingerprint("t").add_text("ab").add_text("c").hexdigest() != (
        Fingerprint("t").add_text("a").add_text("bc").hexdigest()
    )  # parts are length-prefixed
    a = np.arange(6, dtype=np.int32)
    assert (
        Fingerprint("t").add_array(a).hexdigest()
        != Fingerprint("t").add_array(a.astype(np.int64)).hexdigest()
    )
    assert len(code_digest("recommend")) == 64 and code_digest("recommend") != code_digest("forecast")


def test_cache_round_trip_with_tables(tmp_path) -> None:
    cache = ChoiceCache(tmp_path, "forecast")
    key = _key(_dataset())
    assert cache.get(key) is None
    table = pd.DataFrame(
        {"unique_id": ["a", "b"], "ds": pd.to_datetime(["2024-01-01", "2024-01-02"]), "y": [1.5, 2.0]}
    )
    cache.put(key, {"weights": {"ease": 0.25}, "chosen": "hybrid"}, {"forecasts": table})
    doc, tables = cache.get(key)  # type: ignore[misc]
    assert doc == {"weights": {"ease": 0.25}, "chosen": "hybrid"}
    pd.testing.assert_frame_equal(tables["forecasts"], table)
    assert ChoiceCache(tmp_path, "forecast-x").get(key) is None  # kinds do not share entries


def test_damaged_entry_is_a_miss(tmp_path) -> None:
    cache = ChoiceCache(tmp_path, "recommend-tuning")
    key = _key(_dataset())
    path = cache.put(key, {"chosen": "ease"})
    path.write_text("{not json")
    assert cache.get(key) is None
    cache.put(key, {"chosen": "ease"}, {"choice": pd.DataFrame({"x": [1]})})
    (tmp_path / f"recommend-tuning-{key}-choice.parquet").unlink()  # a table gone: a miss, not an error
    assert cache.get(key) is None


def test_old_entries_are_pruned_per_kind(tmp_path) -> None:
    import os

    cache = ChoiceCache(tmp_path, "forecast", max_entries=2)
    other = ChoiceCache(tmp_path, "forecast-x", max_entries=1)
    other_key = _key(_dataset(), {"other": True})
    other.put(other_key, {"n": -1})
    keys = [_key(_dataset(), {"n": n}) for n in range(3)]
    for n, key in enumerate(keys):
        cache.put(key, {"n": n}, {"t": pd.DataFrame({"n": [n]})})
        os.utime(tmp_path / f"forecast-{key}.json", ns=(n * 10**9, n * 10**9))  # distinct, ordered times
    cache.put(keys[2], {"n": 2})  # the newest entry written again: the oldest goes
    assert cache.get(keys[0]) is None
    assert not (tmp_path / f"forecast-{keys[0]}-t.parquet").exists()
    assert cache.get(keys[1]) is not None and cache.get(keys[2]) is not None
    assert other.get(other_key) is not None  # another kind with the same prefix is untouched


def test_bad_names_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="kind"):
        ChoiceCache(tmp_path, "../x")
    with pytest.raises(ValueError, match="hex digest"):
        ChoiceCache(tmp_path, "forecast").get("../../etc/passwd")
