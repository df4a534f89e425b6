import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopmind.data import Dataset, EventWeights, Vocabulary
from shopmind.errors import ConfigError, UnknownIdError


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=50))
def test_vocabulary_round_trip(ids):
    vocab = Vocabulary(ids)
    idx = vocab.index(ids)
    assert idx.tolist() == list(range(len(ids)))
    assert [vocab.id(i) for i in idx] == [str(i) for i in ids]


def test_vocabulary_unknown_policy():
    vocab = Vocabulary(["a", "b"], name="item")
    assert vocab.index(["b", "zz"], on_unknown="missing").tolist() == [1, -1]
    with pytest.raises(UnknownIdError, match="zz"):
        vocab.index(["zz"])
    assert vocab.extend(["c", "a"]).to_list() == ["a", "b", "c"]


def _events():
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2"],
            "item_id": ["a", "b", "a", "a", "c"],
            "type": ["view", "purchase", "cart", "rating", "rating"],
            "value": [None, None, None, 4.0, 2.0],
            "timestamp": [0, 86_400, 2 * 86_400, 3 * 86_400, 4 * 86_400],
        }
    )


def test_matrix_weights_and_decay():
    ds = Dataset.from_frame(
        _events(), items=pd.DataFrame({"id": ["a", "b", "c", "d"], "title": list("ABCD")})
    )
    assert ds.n_items == 4 and ds.items.to_list() == ["a", "b", "c", "d"]
    m = ds.matrix(EventWeights(weights={"view": 1, "cart": 3, "purchase": 5, "rating": 1}))
    assert m[0, 0] == 4 and m[0, 1] == 5 and m[1, 0] == 4 and m[1, 2] == 2
    decayed = ds.matrix(EventWeights(weights={"view": 1}, half_life_days=1.0, now=86_400))
    assert decayed[0, 0] == pytest.approx(0.5)
    assert decayed.nnz == 1


def test_sequences_ratings_and_subset():
    ds = Dataset.from_frame(_events())
    seqs = ds.sequences()
    assert [ds.items.id(i) for i in seqs[0]] == ["a", "b", "a"]
    assert ds.ratings()[1, 2] == 2.0
    train = ds.subset(ds.timestamp < 3 * 86_400)
    assert train.n_events == 3 and train.items == ds.items
    assert np.asarray(train.seen.sum(axis=1)).ravel().tolist() == [2, 0]


def test_bad_weights_are_named():
    with pytest.raises(ConfigError, match="teleport"):
        EventWeights(weights={"teleport": 1})
