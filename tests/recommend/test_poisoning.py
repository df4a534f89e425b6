"""Training-time poisoning defence: detector known answers, the admin override, and finding 6 of issue 21
(a coordinated shilling attack on the demo shop worked after retraining) as a regression test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shopmind.capability import TrainContext
from shopmind.config import Settings
from shopmind.data.dataset import Dataset
from shopmind.data.schema import Event, Item, User
from shopmind.errors import ConfigError
from shopmind.ingest.poisoning import PoisoningConfig, detect_poisoning, screen_dataset
from shopmind.ingest.quality import quality_report
from shopmind.recommend.service import NAME, RecommendService, screen_training_data, train
from shopmind.store import open_store

DAY = 86_400
START = 1_700_000_000
ATTACKS = ("random", "average", "bandwagon", "segment")


# ---------------------------------------------------------------- a small rating world with known answers
def _genuine(rng: np.random.Generator, n_users: int = 300, n_items: int = 600) -> pd.DataFrame:
    """Users arriving evenly over 120 days, each rating 15–30 of 600 items (popularity-skewed) in 3 days."""
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    rows = []
    for u in range(n_users):
        born = START + int(u * 120 * DAY / n_users)
        items = rng.choice(n_items, size=int(rng.integers(15, 31)), replace=False, p=pop)
        for i in items:
            rows.append((f"u{u}", f"i{i}", float(rng.integers(1, 6)), born + int(rng.integers(0, 3 * DAY))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"]).assign(type="rating")


def _attack(
    kind: str, n_fake: int, target: str, rng: np.random.Generator, *, born: int, spread: int = 3600
) -> pd.DataFrame:
    """``n_fake`` profiles of one of the four standard attacks (Lam & Riedl 2004; Mobasher et al. 2007)."""
    rows = []
    popular = [f"i{k}" for k in range(3)]
    segment = [f"i{k}" for k in (10, 11, 12, 13, 14)]
    for a in range(n_fake):
        t0 = born + int(rng.integers(0, spread))
        filler = [f"i{k}" for k in rng.choice(np.arange(20, 600), size=12, replace=False)]
        if kind == "random":
            prof = {f: float(np.clip(round(rng.normal(3.0, 1.2)), 1, 5)) for f in filler}
        elif kind == "average":
            prof = {f: 3.0 for f in filler}
        elif kind == "bandwagon":
            prof = {
                **{f: float(np.clip(round(rng.normal(3.0, 1.2)), 1, 5)) for f in filler},
                **dict.fromkeys(popular, 5.0),
            }
        else:
            prof = {**dict.fromkeys(filler, 1.0), **dict.fromkeys(segment, 5.0)}
        prof[target] = 5.0
        for k, (item, value) in enumerate(prof.items()):
            rows.append((f"fake{a}", item, value, t0 + 30 * k))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"]).assign(type="rating")


@pytest.fixture(scope="module")
def genuine() -> pd.DataFrame:
    return _genuine(np.random.default_rng(5))


def test_clean_data_flags_nobody(genuine: pd.DataFrame) -> None:
    report = detect_poisoning(Dataset.from_frame(genuine))
    assert report.n_flagged == 0 and report.groups == []


def test_a_shop_whose_customers_all_arrived_together_flags_nobody(genuine: pd.DataFrame) -> None:
    """No reference to compare a cohort with (a new shop's first week): nothing is tested."""
    launch = genuine.assign(timestamp=START + (genuine["timestamp"] - START) % DAY)
    assert detect_poisoning(Dataset.from_frame(launch)).n_flagged == 0


@pytest.mark.parametrize("kind", ATTACKS)
def test_each_standard_attack_is_found_exactly(genuine: pd.DataFrame, kind: str) -> None:
    rng = np.random.default_rng(11)
    fake = _attack(kind, 12, "i500", rng, born=START + 60 * DAY)
    data = Dataset.from_frame(pd.concat([genuine, fake], ignore_index=True))
    report = detect_poisoning(data)
    assert set(report.flagged_ids) == set(fake["user_id"])  # precision and recall 1
    assert "i500" in report.summary()["target_items"]
    group = next(g for g in report.groups if g.item_id == "i500")
    assert group.members == 12 and group.expected < 1.0 and group.direction == "push"
    ev = {e["user_id"]: e for e in report.evidence}
    assert ev["fake0"]["targets"][0] in {"i500", "i0", "i10"} and ev["fake0"]["burst_hours"] < 2
    assert all(
        0.0 < e["degsim"] <= 1.0 and e["rdma"] > 0 and e["profile_size"] >= 13 for e in report.evidence
    )
    kept, _ = screen_dataset(data)
    assert not set(kept.users.ids[np.unique(kept.user_idx)]) & set(fake["user_id"])
    assert kept.n_events == len(genuine)


def test_a_nuke_attack_is_found_with_its_direction(genuine: pd.DataFrame) -> None:
    fake = _attack("random", 10, "i400", np.random.default_rng(2), born=START + 50 * DAY)
    fake.loc[fake["item_id"] == "i400", "value"] = 1.0
    fake.loc[fake["item_id"] != "i400", "value"] = 4.0
    report = detect_poisoning(Dataset.from_frame(pd.concat([genuine, fake], ignore_index=True)))
    group = next(g for g in report.groups if g.item_id == "i400")
    assert group.direction == "nuke" and set(fake["user_id"]) <= set(report.flagged_ids)
    # a genuine newcomer of the same week who also rated the target is the detector's price (one here)
    assert len(set(report.flagged_ids) - set(fake["user_id"])) <= 1


def test_groups_below_min_group_or_spread_over_months_are_not_grouped(genuine: pd.DataFrame) -> None:
    small = _attack("random", 4, "i500", np.random.default_rng(3), born=START + 60 * DAY)
    assert detect_poisoning(Dataset.from_frame(pd.concat([genuine, small]))).n_flagged == 0
    # the documented limit: one fake account every ten days never forms a cohort
    spread = _attack("random", 10, "i500", np.random.default_rng(3), born=START, spread=100 * DAY)
    assert detect_poisoning(Dataset.from_frame(pd.concat([genuine, spread]))).n_flagged == 0


def test_trusted_accounts_are_never_flagged(genuine: pd.DataFrame) -> None:
    fake = _attack("bandwagon", 10, "i500", np.random.default_rng(4), born=START + 60 * DAY)
    data = Dataset.from_frame(pd.concat([genuine, fake], ignore_index=True))
    report = detect_poisoning(data, trusted=["fake0", "fake1", "nobody"])
    assert set(report.trusted_skipped) == {"fake0", "fake1"}
    assert set(report.flagged_ids) == {f"fake{k}" for k in range(2, 10)}
    assert report.summary()["trusted_overrides"] == 2


def test_single_extreme_rating_accounts_are_flagged_too(genuine: pd.DataFrame) -> None:
    shill = pd.DataFrame(
        {
            "user_id": "shill",
            "item_id": ["i50", "i51"] * 4,
            "value": 5.0,
            "timestamp": [START + 10 * DAY + 600 * k for k in range(8)],
            "type": "rating",
        }
    )
    report = detect_poisoning(Dataset.from_frame(pd.concat([genuine, shill], ignore_index=True)))
    assert report.flagged_ids == ["shill"] and report.rating_shills == 1
    assert report.evidence[0]["reasons"] == ["extreme ratings"]
    off = detect_poisoning(
        Dataset.from_frame(pd.concat([genuine, shill], ignore_index=True)),
        PoisoningConfig(rating_shills=False),
    )
    assert off.n_flagged == 0


def test_bad_thresholds_are_refused_with_the_value() -> None:
    with pytest.raises(ConfigError, match="window_hours") as err:
        PoisoningConfig(window_hours=0.0)
    assert "0.0" in str(err.value)
    with pytest.raises(ConfigError, match="min_group"):
        PoisoningConfig(min_group=1)


# ---------------------------------------------------------------- finding 6 on a small synthetic shop
N_FAKE = 20


def _shop_store(root: Path) -> tuple[Any, dict[str, Any]]:
    """The tiny synthetic shop in a store, plus the finding-6 attack: new accounts, all within a day,
    each pushing one unpopular target together with the shop's three most popular items (14 events)."""
    from shopmind.datasets.synthetic import (
        ShopConfig,
        build_shop,
        item_records,
        iter_event_chunks,
        user_records,
    )

    cfg = ShopConfig.preset("tiny", seed=7)
    shop = build_shop(cfg)
    store = open_store(f"sqlite:///{root / 'shop.db'}")
    store.upsert_items(Item(**r) for r in item_records(shop))
    store.upsert_users(User(**r) for r in user_records(shop))
    events = pd.concat(list(iter_event_chunks(cfg, shop)), ignore_index=True)
    store.add_events_frame(events)
    ev = events[events["item_id"].notna()]
    users_per_item = ev.groupby("item_id")["user_id"].nunique().sort_values(ascending=False)
    popular = users_per_item.index[:3].tolist()
    target = users_per_item[users_per_item == 2].index[0]  # an item two customers ever touched
    end = events["timestamp"].max()
    rows = []
    for a in range(N_FAKE):
        t = end - pd.Timedelta(hours=30) + pd.Timedelta(minutes=70 * a)
        plan = [(target, "view"), (target, "view"), (target, "cart"), (target, "purchase")]
        for p in popular:
            plan += [(p, "view"), (p, "view"), (p, "cart")]
        plan += [(target, "view")]
        for k, (item, kind) in enumerate(plan):
            rows.append(
                Event(
                    id=f"atk{a}-{k}",
                    user_id=f"NEW{a:03d}",
                    item_id=item,
                    type=kind,
                    session_id=f"SATK{a}",
                    timestamp=t + pd.Timedelta(seconds=40 * k),
                )
            )
    assert len(rows) == 14 * N_FAKE
    sample = [
        u for u in events["user_id"].unique().tolist() if u not in set(ev[ev["item_id"] == target]["user_id"])
    ]
    return store, {
        "target": target,
        "popular": popular,
        "sample": sample[:150],
        "fake": [f"NEW{a:03d}" for a in range(N_FAKE)],
        "attack": rows,
    }


def _effect(service: RecommendService, shop: dict[str, Any]) -> dict[str, Any]:
    target = shop["target"]
    hits = sum(target in service.recommend(u, k=10).ids for u in shop["sample"])
    return {
        "hits": hits,
        "trending_top": service.trending(k=1).ids,
        "similar": [target in service.similar_items(p, k=10).ids for p in shop["popular"]],
        "together": [target in service.bought_together(p, k=10).ids for p in shop["popular"]],
    }


@pytest.fixture(scope="module")
def attacked_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("poisoned")
    store, shop = _shop_store(root)
    service, _ = _train(store, root, "clean", {})
    shop["clean"] = _effect(service, shop)  # before the attack
    store.add_events(shop["attack"])
    return store, shop, root


def _train(
    store: Any, root: Path, name: str, poisoning: dict[str, Any]
) -> tuple[RecommendService, dict[str, Any]]:
    # similar items unconstrained (no category branch / price band): the effect measured is the
    # models', which the screen must remove on its own
    settings = Settings(
        training={"threads": 1, "tune_budget_s": 0, "poisoning": poisoning},
        recommend={"similar_category_depth": 0, "similar_price_ratio": 0},
    )
    info = train(TrainContext(store=store, settings=settings), root / name / NAME)
    return RecommendService.load(root / name / NAME, store, threads=1, settings=settings), info


@pytest.mark.slow
def test_finding6_attack_works_without_the_defence(attacked_shop) -> None:
    """The control: the attack is strong enough to matter when nothing screens it."""
    store, shop, root = attacked_shop
    service, info = _train(store, root, "off", {"enabled": False})
    effect = _effect(service, shop)
    assert info["poisoning"]["enabled"] is False
    assert effect["hits"] >= 1, effect
    assert all(effect["similar"]) and all(effect["together"]), effect


@pytest.mark.slow
def test_finding6_attack_does_not_work_after_retraining(attacked_shop) -> None:
    store, shop, root = attacked_shop
    service, info = _train(store, root, "on", {})
    effect = _effect(service, shop)
    assert effect["hits"] <= shop["clean"]["hits"], (effect, shop["clean"])
    assert effect["trending_top"] != [shop["target"]]
    assert not any(effect["similar"]) and not any(effect["together"]), effect
    # the count is in the run manifest and the flagged accounts with their evidence in poisoning.json
    assert info["poisoning"]["flagged_accounts"] == N_FAKE and info["poisoning"]["action"] == "exclude"
    assert shop["target"] in info["poisoning"]["target_items"]
    detail = json.loads((root / "on" / NAME / "poisoning.json").read_text())
    assert {a["user_id"] for a in detail["accounts"]} == set(shop["fake"])
    assert (
        json.loads((root / "on" / NAME / "manifest.json").read_text())["poisoning"]["flagged_accounts"]
        == N_FAKE
    )


def test_admin_override_and_report_mode(attacked_shop) -> None:
    store, shop, _ = attacked_shop
    base = Settings().training.poisoning
    dataset = store.load_dataset()
    kept, screen = screen_training_data(dataset, base)
    assert screen.excluded and set(screen.flagged_ids) == set(shop["fake"])
    assert kept.n_events < dataset.n_events
    trusted = base.model_copy(update={"trusted_users": shop["fake"][:5]})
    kept, screen = screen_training_data(dataset, trusted)
    assert len(screen.flagged_ids) == N_FAKE - 5 and screen.manifest()["trusted_overrides"] == 5
    kept_users = set(kept.users.ids[np.unique(kept.user_idx)])
    assert set(shop["fake"][:5]) <= kept_users and not set(shop["fake"][5:]) & kept_users
    report_only = base.model_copy(update={"action": "report"})
    kept, screen = screen_training_data(dataset, report_only)
    assert kept is dataset and screen.manifest()["action"] == "report"
    assert screen.manifest()["flagged_accounts"] == N_FAKE


def test_quality_report_lists_the_coordinated_accounts(attacked_shop) -> None:
    store, shop, _ = attacked_shop
    report = quality_report(store)
    codes = {f["code"]: f for f in report["findings"]}
    assert codes["coordinated_fake_accounts"]["count"] == N_FAKE
    assert shop["target"] in report["poisoning"]["target_items"]
    trusted = quality_report(store, trusted_users=shop["fake"])
    assert "coordinated_fake_accounts" not in {f["code"] for f in trusted["findings"]}
