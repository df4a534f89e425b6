"""NeuMF and SASRec: they learn planted patterns, save/load exactly, and honour the interface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.data.dataset import Dataset
from shopmind.errors import ArtifactError, NotFittedError
from shopmind.evaluate.protocols import loo_from_sequences
from shopmind.recommend.base import Runtime, top_k
from shopmind.recommend.holdout import rank
from shopmind.recommend.metrics import per_user_metrics

pytest.importorskip("torch")

from shopmind.recommend.neumf import NeuMF, sample_negatives
from shopmind.recommend.sasrec import SASRec, pad_sequences

RT = Runtime(seed=3, threads=1)


def two_taste_groups(seed: int = 0):
    """30 users like items 0–14, 10 users like items 15–29: popularity misleads the minority group."""
    rng = np.random.default_rng(seed)
    train, test = [], {}
    for u in range(40):
        block = np.arange(15) if u < 30 else np.arange(15, 30)
        chosen = rng.choice(block, size=10, replace=False)
        train += [(f"u{u}", f"i{i}") for i in chosen[:8]]
        test[f"u{u}"] = {f"i{i}" for i in chosen[8:]}
    ev = pd.DataFrame(train, columns=["user_id", "item_id"])
    ev["type"] = "purchase"
    ev["timestamp"] = np.arange(len(ev))
    items = [f"i{i}" for i in range(30)]
    ds = Dataset.from_frame(ev, items=pd.DataFrame({"id": items, "title": items}))
    return ds, test


def heldout_precision(ds: Dataset, test: dict[str, set[str]], scores: np.ndarray, users: np.ndarray) -> float:
    idx, _ = top_k(scores, 2, ds.seen[users])
    hits = [
        len({ds.items.id(i) for i in row} & test[ds.users.id(u)]) for u, row in zip(users, idx, strict=True)
    ]
    return float(np.mean(hits) / 2)


def test_neumf_beats_popularity_on_planted_groups(tmp_path):
    ds, test = two_taste_groups()
    model = NeuMF({"factors": 8, "mlp_layers": (16, 8), "epochs": 30, "batch_size": 256, "lr": 0.01}, RT).fit(
        ds
    )
    minority = np.array([ds.users.index_of(f"u{u}") for u in range(30, 40)])
    pop = np.tile(ds.item_counts().astype(float), (len(minority), 1))
    p_model = heldout_precision(ds, test, model.score_users(minority), minority)
    p_pop = heldout_precision(ds, test, pop, minority)
    assert p_pop <= 0.1  # popularity recommends the majority's items to them
    assert p_model >= 0.3 and p_model > p_pop + 0.2

    # save/load gives identical scores; batch ≡ single
    model.save(tmp_path / "neumf")
    loaded = NeuMF.load(tmp_path / "neumf", RT)
    np.testing.assert_allclose(loaded.score_users(minority), model.score_users(minority), rtol=1e-6)
    batch = model.score_users(minority)
    single = np.vstack([model.score_users(minority[j : j + 1]) for j in range(len(minority))])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-6)
    # deterministic for a seed
    again = NeuMF(model.config, RT).fit(ds)
    np.testing.assert_allclose(again.score_users(minority), batch, rtol=1e-5, atol=1e-6)


def test_neumf_errors(tmp_path):
    with pytest.raises(NotFittedError):
        NeuMF().score_users(np.array([0]))
    ds, _ = two_taste_groups()
    model = NeuMF({"factors": 4, "mlp_layers": (8, 4), "epochs": 1}, RT).fit(ds)
    model.save(tmp_path / "m")
    with pytest.raises(ArtifactError):
        SASRec.load(tmp_path / "m")


def test_sample_negatives_avoids_seen_items():
    ds, _ = two_taste_groups()
    users = np.repeat(np.arange(ds.n_users), 50)
    neg = sample_negatives(ds.seen, users, ds.n_items, np.random.default_rng(0))
    assert (np.asarray(ds.seen[users, neg]).ravel() == 0).all()


def chain_sequences(n_users: int = 240, n_items: int = 20, length: int = 8, seed: int = 0):
    """Every user walks the cycle i → i+1 (mod n_items) from a random start: next item is exact."""
    rng = np.random.default_rng(seed)
    users = [f"u{u}" for u in range(n_users)]
    seqs = []
    for _ in users:
        start = int(rng.integers(0, n_items))
        seqs.append([f"i{(start + j) % n_items}" for j in range(length)])
    return users, seqs


def test_sasrec_learns_next_item_and_folds_in(tmp_path):
    users, seqs = chain_sequences()
    split = loo_from_sequences(users, seqs, phase="test")
    cfg = {
        "hidden": 16,
        "blocks": 1,
        "max_len": 8,
        "epochs": 25,
        "batch_size": 32,
        "lr": 0.01,
        "dropout": 0.1,
    }
    results = {}
    for loss in ("sampled_ce", "bce", "ce"):
        model = SASRec({**cfg, "loss": loss, "negatives": 8}, RT).fit(split.train)
        recs, _ = rank(model, split)  # uses score_sequences with the validation item included
        results[loss] = per_user_metrics(recs, split.truth, 10)
    pop = split.train.item_counts().astype(float)
    pop_recs, _ = top_k(np.tile(pop, (len(split.users), 1)), 10, split.exclude[split.users])
    pop_hr1 = per_user_metrics(pop_recs[:, :1], split.truth, 1)["hr"].mean()
    for loss, m in results.items():
        assert m["mrr"].mean() > 0.8, loss  # the next item is deterministic
        assert m["mrr"].mean() > 3 * pop_hr1
    # fold-in: a brand-new sequence ending at i5 predicts i6 without retraining
    idx = split.train.items.index(["i3", "i4", "i5"]).astype(np.int64)
    top = int(np.argmax(model.score_sequences([idx])[0]))
    assert split.train.items.id(top) == "i6"
    # save/load equality
    model.save(tmp_path / "sasrec")
    loaded = SASRec.load(tmp_path / "sasrec", RT)
    np.testing.assert_allclose(
        loaded.score_sequences([idx]), model.score_sequences([idx]), rtol=1e-5, atol=1e-5
    )
    u = split.users[:5]
    np.testing.assert_allclose(loaded.score_users(u), model.score_users(u), rtol=1e-5, atol=1e-5)
    batch = model.score_users(u)
    np.testing.assert_allclose(
        np.vstack([model.score_users(u[j : j + 1]) for j in range(5)]), batch, rtol=1e-5, atol=1e-5
    )


def test_pad_sequences():
    out = pad_sequences([np.array([4, 5, 6]), np.array([], dtype=np.int64)], 2)
    assert out.tolist() == [[6, 7], [0, 0]]
