"""Splits: the MS stratified split's invariants, leave-last-out and the temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError, DataError
from shopmind.evaluate.protocols import (
    loo_from_sequences,
    loo_protocol,
    msr_split,
    read_sequences,
    split_from_frames,
    temporal_protocol,
)


def ratings_frame(pairs: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [str(u) for u, _ in pairs],
            "item_id": [str(i) for _, i in pairs],
            "rating": [float(1 + (u + i) % 5) for u, i in pairs],
            "timestamp": np.arange(len(pairs)) * 100,
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 15), st.integers(0, 12)), min_size=1, max_size=120, unique=True),
    st.integers(0, 2**31 - 1),
)
def test_msr_split_is_a_partition_with_per_item_round_half_even(pairs, seed):
    df = ratings_frame(pairs)
    train, test = msr_split(df, ratio=0.75, seed=seed)
    assert len(train) + len(test) == len(df)
    assert set(train.index).isdisjoint(test.index)
    n = df.groupby("item_id").size()
    n_train = train.groupby("item_id").size().reindex(n.index, fill_value=0)
    assert (n_train == np.round(0.75 * n)).all()  # half to even: n=2 → 2 (1.5→2), n=6 → 4 (4.5→4)
    again = msr_split(df, ratio=0.75, seed=seed)
    assert again[0].index.equals(train.index)  # seeded


def test_msr_split_depends_on_file_order_and_seed():
    pairs = [(u, i) for u in range(20) for i in range(5)]
    df = ratings_frame(pairs)
    a, _ = msr_split(df, seed=1)
    b, _ = msr_split(df, seed=2)
    c, _ = msr_split(df.iloc[::-1], seed=1)
    assert set(a.index) != set(b.index)
    assert set(zip(a.user_id, a.item_id, strict=True)) != set(zip(c.user_id, c.item_id, strict=True))
    with pytest.raises(ConfigError):
        msr_split(df, ratio=1.5)


def test_split_from_frames_counts_unrecommendable_test_items_as_relevant():
    train = ratings_frame([(1, 10), (1, 11), (2, 10)])
    test = ratings_frame([(1, 12), (2, 11), (2, 99), (3, 10)])  # items 12, 99 and user 3 unseen in training
    s = split_from_frames(train, test, dataset="toy", protocol="msr")
    assert s.train.n_items == 2 and s.train.n_users == 2
    assert s.truth_items.to_list() == ["10", "11", "12", "99"]
    assert s.users.tolist() == [0, 1]  # user 3 is skipped
    assert np.diff(s.truth.indptr).tolist() == [1, 2]  # unrecommendable items 12 and 99 still count
    assert s.exclude[0].nnz == 2


def test_loo_holds_out_last_and_second_to_last(tmp_path):
    f = tmp_path / "seq.txt"
    f.write_text("u1 a b c d e\nu2 b c a\nu3 x y\n")
    users, seqs = read_sequences(f)
    test = loo_from_sequences(users, seqs, phase="test")
    valid = loo_from_sequences(users, seqs, phase="valid")
    items = test.truth_items
    assert test.train.n_items == 7  # every item of the file is rankable
    # fitted prefix: u1 a b c, u2 b, u3 (nothing: too short to evaluate but x kept out)
    trained = {
        (test.train.users.id(u), items.id(i))
        for u, i in zip(test.train.user_idx, test.train.item_idx, strict=True)
    }
    assert trained == {("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "b")}
    assert [test.train.users.id(u) for u in test.users] == ["u1", "u2"]
    assert [items.id(i) for i in test.truth.indices] == ["e", "a"]
    assert [items.id(i) for i in valid.truth.indices] == ["d", "c"]
    assert [[items.id(i) for i in s] for s in test.sequences] == [["a", "b", "c", "d"], ["b", "c"]]
    assert [[items.id(i) for i in s] for s in valid.sequences] == [["a", "b", "c"], ["b"]]
    # history items are excluded from the ranking per user index
    assert sorted(items.id(i) for i in test.exclude[test.users[0]].indices) == ["a", "b", "c", "d"]
    assert test.info["users_skipped"] == 1
    assert test.history[0].toarray().sum() == 4  # counts by default
    decayed = loo_from_sequences(users, seqs, phase="test", history_half_life=1.0)
    row = decayed.history[0].toarray()[0]
    assert [row[items.index_of(x)] for x in "abcd"] == pytest.approx([0.125, 0.25, 0.5, 1.0])
    bad = tmp_path / "bad.txt"
    bad.write_text("u1\n")
    with pytest.raises(DataError):
        read_sequences(bad)


def test_loo_protocol_attaches_s3rec_attributes(tmp_path):
    f = tmp_path / "Shop.txt"
    f.write_text("u1 a b c d e\nu2 b c a\n")
    plain = loo_protocol(f, phase="valid")
    assert "attributes" not in plain.train.item_table.columns  # no attribute file: no item table
    (tmp_path / "Shop_item2attributes.json").write_text('{"a": [1, 7], "b": [7], "zz": [3]}')
    split = loo_protocol(f, phase="valid")
    table = split.train.item_table
    assert table.loc["a", "attributes"] == {"attribute_ids": ["1", "7"]}
    assert table.loc["c", "attributes"] == {"attribute_ids": []}  # items without attributes: empty
    assert len(table) == split.train.n_items == 5  # attribute-only items ("zz") are not added
    # the split itself is unchanged
    assert (split.truth != plain.truth).nnz == 0 and (split.exclude != plain.exclude).nnz == 0


def test_temporal_split():
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b", "a", "b", "c", "a"],
            "item_id": ["1", "2", "1", "3", "3", "2", "1", "9"],
            "type": ["view", "purchase", "view", "cart", "purchase", "purchase", "view", "purchase"],
            "timestamp": [1, 2, 3, 4, 10, 11, 12, 13],
        }
    )
    ds = Dataset.from_frame(ev)
    s = temporal_protocol(ds, test_fraction=0.5)
    assert s.train.n_events == 4 and s.train.n_users == 2 and s.train.n_items == 3
    ids = {
        s.train.users.id(u): sorted(s.truth_items.id(i) for i in s.truth[r].indices)
        for r, u in enumerate(s.users)
    }
    assert ids == {"a": ["3", "9"], "b": ["2"]}  # c is new; b's item 2 is fresh; a's 9 is unrecommendable
    only_views = temporal_protocol(ds, test_fraction=0.5, relevant_types=("view",))
    assert len(only_views.users) == 0
    with pytest.raises(ConfigError):
        temporal_protocol(ds, test_fraction=0)
