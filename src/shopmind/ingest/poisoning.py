"""Training-time poisoning defence: find coordinated fake-account (shilling) groups in a ``Dataset``.

Threat model. A profile-injection ("shilling") attack adds ``M`` fake accounts whose profiles hold
the target item ``i_t`` at the push (or nuke) rating, selected items ``I_S`` and filler items ``I_F``
(Lam & Riedl, "Shilling recommender systems for fun and profit", WWW 2004; Mobasher, Burke, Bhaumik
& Williams, "Toward trustworthy recommender systems: an analysis of attack models and algorithm
robustness", ACM TOIT 7(4), 2007):

* **random** — ``I_F`` random, rated ~ N(global mean, global sd); no ``I_S``;
* **average** — ``I_F`` random, each rated ~ N(item mean, item sd);
* **bandwagon** — ``I_S`` = a few very popular items at the top rating, fillers as in random;
* **segment** — ``I_S`` = popular items of the target's segment at the top rating, fillers at the bottom.

Whatever the shape, every fake profile touches the target, and the accounts are made for the attack,
so they appear together (a new-account burst). The detector tests exactly that conjunction:

1. **Cohorts (time burst).** An account's first event puts it in a time bucket of width ``W``
   (``window_hours``; two bucketings offset by ``W/2`` so that a burst on a boundary is not split).
   Its *first-window profile* is the set of items it touched in ``[first, first + W)``.
2. **Target co-occurrence test.** For cohort ``b`` and item ``i``, ``C_bi`` = cohort accounts whose
   first-window profile holds ``i`` and ``M_b`` = (account, item) pairs in the cohort. If newcomers
   picked items like everyone else, ``C_bi ~ Poisson(λ_bi)`` with ``λ_bi = q_bi · M_b`` and
   ``q_bi = max(q_global, q_new, q_local)``: the item's share of (account, item) pairs among all
   accounts, among all newcomers, and among established accounts active during the window (the first
   two leave cohort ``b`` out, the global one with one Laplace pseudo-pair per item; the local one is
   shrunk toward the global share with ``κ = 100`` pairs). A cohort holding half of all pairs or more
   (a shop's first weeks) has no reference and is not tested.
   Taking the maximum is conservative towards real trends (new releases, items on a sign-up page).
   A cell is a coordinated group when ``C_bi ≥ min_group``, ``C_bi / λ_bi ≥ min_lift`` and
   ``P(Poisson(λ_bi) ≥ C_bi) ≤ alpha / T`` (Bonferroni over the ``T`` cells with ``C_bi ≥ min_group``);
   the rating time-series idea of Zhang, Tang & Zhang, "Detection of shilling attacks in recommender
   systems via time series of ratings" (2006), applied to newcomer cohorts instead of rating streams.
3. **Flags.** The members of a group — cohort accounts whose first-window profile holds its item — are
   flagged, and so (``rating_shills``) are single accounts of the quality report's extreme-rating check
   (many 1/5-star ratings on few items within a day, :func:`shopmind.ingest.quality.detect_shilling`),
   except ids the admin trusts (``trusted``).

Per-account evidence for each flagged account (for review; the decision is steps 1–3):

* ``rdma`` — Rating Deviation from Mean Agreement (Chirita, Nejdl & Zamfir, "Preventing shilling
  attacks in online recommender systems", WIDM 2005): ``(1/|I_u|) Σ_i |r_ui − r̄_i| / n_i`` where
  ``r_ui`` is the rating, or for implicit events the strength level (view/click 1, wishlist 2, cart 3,
  review 4, purchase 5), ``r̄_i`` the item mean and ``n_i`` its number of raters;
* ``degsim`` — Degree of Similarity with top neighbours (same paper): the mean cosine similarity of
  the binary profile with its ``k`` most similar accounts (fake profiles copy one template);
* ``profile_size`` — distinct items (the filler size; Burke et al., "Classification features for
  attack detection in collaborative recommender systems", KDD 2006, use its deviation, LengthVar);
* ``burst_hours`` — hours between the account's first and last event; ``direction`` — ``push`` when
  the target's level is at least the account's mean level, else ``nuke``.

Limits (honest): accounts that trickle in below ``min_group`` per window, or "sleeper" accounts whose
first event lies long before the attack, are not grouped; nor is an attack by established customers,
nor a nuke attack on an item so popular that the group's share of it is not ``min_lift`` times its
expected share.
Costs: a few vectorised passes over the events (sort, unique, group-by); DegSim only for flagged
accounts, in row blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from shopmind.data.dataset import EVENT_CODE, EVENT_TYPES, Dataset
from shopmind.errors import ConfigError

log = logging.getLogger(__name__)

LEVEL: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "wishlist": 2.0,
    "cart": 3.0,
    "review": 4.0,
    "purchase": 5.0,
    "return": 1.0,
    "search": 0.0,
}
"""Implicit events as a 1–5 "rating" for RDMA; a rating event counts its own value."""

LOCAL_PRIOR_PAIRS = 100.0
"""κ: pseudo-pairs shrinking an item's share among established accounts in a window toward its global share."""

MAX_EVIDENCE = 5_000
"""Per-account evidence (DegSim needs a sparse product per account) is computed for at most this many."""


@dataclass(frozen=True)
class PoisoningConfig:
    """Detector thresholds (see the module docstring for the test they parameterise)."""

    window_hours: float = 168.0
    min_group: int = 5
    min_lift: float = 10.0
    alpha: float = 1e-3
    neighbours: int = 10
    rating_shills: bool = True

    def __post_init__(self) -> None:
        checks = {
            "window_hours": (self.window_hours, 1.0, 24.0 * 365, "hours between 1 and 8760"),
            "min_group": (self.min_group, 2, 1_000_000, "an integer >= 2"),
            "min_lift": (self.min_lift, 1.0, 1e9, "a number >= 1"),
            "alpha": (self.alpha, 1e-300, 0.5, "a probability in (0, 0.5]"),
            "neighbours": (self.neighbours, 1, 1_000, "an integer between 1 and 1000"),
        }
        for name, (value, lo, hi, expected) in checks.items():
            if not lo <= value <= hi:
                raise ConfigError(f"poisoning.{name} out of range", value=value, expected=expected)


@dataclass(frozen=True)
class AttackGroup:
    """One coordinated group: a cohort window and the item its members all touched."""

    item_id: str
    window_start: int
    window_end: int
    members: int
    expected: float
    lift: float
    p_value: float
    direction: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "window_start": pd.Timestamp(self.window_start, unit="s", tz="UTC").isoformat(),
            "window_end": pd.Timestamp(self.window_end, unit="s", tz="UTC").isoformat(),
            "members": self.members,
            "expected": round(self.expected, 4),
            "lift": round(self.lift, 2) if np.isfinite(self.lift) else None,
            "p_value": float(f"{self.p_value:.3g}"),
            "direction": self.direction,
        }


@dataclass(frozen=True)
class PoisoningReport:
    """What the detector found: flagged user indices (into ``dataset.users``), groups and evidence."""

    flagged: np.ndarray
    flagged_ids: list[str]
    groups: list[AttackGroup]
    evidence: list[dict[str, Any]]
    trusted_skipped: list[str]
    n_users: int
    reference: dict[str, float] = field(default_factory=dict)
    config: PoisoningConfig = field(default_factory=PoisoningConfig)
    rating_shills: int = 0

    @property
    def n_flagged(self) -> int:
        return len(self.flagged)

    def keep_mask(self, dataset: Dataset) -> np.ndarray:
        """Per event of ``dataset``: False for events of flagged accounts."""
        flagged = np.zeros(dataset.n_users, dtype=bool)
        flagged[self.flagged] = True
        return ~flagged[dataset.user_idx]

    def summary(self) -> dict[str, Any]:
        """Counts for a run manifest."""
        return {
            "flagged_accounts": self.n_flagged,
            "groups": len(self.groups),
            "extreme_rating_accounts": self.rating_shills,
            "target_items": sorted({g.item_id for g in self.groups}),
            "trusted_overrides": len(self.trusted_skipped),
        }

    def to_dict(self, max_accounts: int = 1_000) -> dict[str, Any]:
        """JSON-safe report (accounts capped at ``max_accounts``)."""
        cfg = self.config
        return {
            **self.summary(),
            "users": self.n_users,
            "flagged_share": round(self.n_flagged / self.n_users, 6) if self.n_users else 0.0,
            "groups_detail": [g.to_dict() for g in self.groups],
            "accounts": self.evidence[:max_accounts],
            "trusted_skipped": self.trusted_skipped[:max_accounts],
            "reference": self.reference,
            "thresholds": {
                "window_hours": cfg.window_hours,
                "min_group": cfg.min_group,
                "min_lift": cfg.min_lift,
                "alpha": cfg.alpha,
                "neighbours": cfg.neighbours,
            },
        }


def event_levels(dataset: Dataset) -> np.ndarray:
    """Per event: rating value (clipped to 1–5) for ratings, else the ``LEVEL`` of its type."""
    table = np.array([LEVEL.get(t, 1.0) for t in EVENT_TYPES], dtype=np.float32)
    level = table[dataset.event_type]
    is_rating = dataset.event_type == EVENT_CODE["rating"]
    return np.where(is_rating, np.clip(dataset.value, 1.0, 5.0), level).astype(np.float32)


def detect_poisoning(
    dataset: Dataset,
    config: PoisoningConfig | None = None,
    *,
    trusted: Iterable[str] = (),
) -> PoisoningReport:
    """Flag coordinated new-account groups (module docstring) and, with ``config.rating_shills``,
    single accounts of the quality report's extreme-rating check
    (:func:`shopmind.ingest.quality.detect_shilling`, defaults); ``trusted`` ids are never flagged."""
    cfg = config or PoisoningConfig()
    n_users = dataset.n_users
    if dataset.n_events == 0:
        return PoisoningReport(np.empty(0, dtype=np.int64), [], [], [], [], n_users, config=cfg)
    u = dataset.user_idx.astype(np.int64)
    t = dataset.timestamp.astype(np.int64)
    first = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, u, t)
    levels = event_levels(dataset)
    flagged_mask, member_targets, groups = _coordinated_groups(dataset, cfg, first, levels)
    shills: list[str] = []
    if cfg.rating_shills:
        shills = _rating_shills(dataset)
        for uid in shills:
            k = dataset.users.index_of(uid)
            flagged_mask[k] = True
            member_targets.setdefault(k, set())

    trusted_set = {str(x) for x in trusted}
    flagged_idx = np.flatnonzero(flagged_mask)
    flagged_ids = [dataset.users.id(int(k)) for k in flagged_idx]
    keep = np.array([fid not in trusted_set for fid in flagged_ids], dtype=bool)
    skipped = [fid for fid, k in zip(flagged_ids, keep, strict=True) if not k]
    flagged_idx = flagged_idx[keep]
    flagged_ids = [fid for fid, k in zip(flagged_ids, keep, strict=True) if k]
    evidence, reference = (
        _evidence(dataset, levels, first, flagged_idx, member_targets, set(shills), cfg)
        if len(flagged_idx)
        else ([], {})
    )
    report = PoisoningReport(
        flagged=flagged_idx,
        flagged_ids=flagged_ids,
        groups=groups,
        evidence=evidence,
        trusted_skipped=skipped,
        n_users=n_users,
        reference=reference,
        config=cfg,
        rating_shills=len(set(shills) - trusted_set),
    )
    if report.n_flagged or skipped:
        log.info(
            "poisoning: %d accounts flagged (%d groups, targets %s; %d extreme-rating accounts), %d trusted",
            report.n_flagged,
            len(groups),
            ", ".join(sorted({g.item_id for g in groups})[:5]),
            report.rating_shills,
            len(skipped),
        )
    return report


def _coordinated_groups(
    dataset: Dataset, cfg: PoisoningConfig, first: np.ndarray, levels: np.ndarray
) -> tuple[np.ndarray, dict[int, set[int]], list[AttackGroup]]:
    """Steps 1–3 of the module docstring: (flag per user, targets per flagged user, groups)."""
    n_users, n_items = dataset.n_users, dataset.n_items
    flagged_mask = np.zeros(n_users, dtype=bool)
    member_targets: dict[int, set[int]] = {}
    u = dataset.user_idx.astype(np.int64)
    it = dataset.item_idx.astype(np.int64)
    t = dataset.timestamp.astype(np.int64)
    window = round(cfg.window_hours * 3600.0)

    # lifetime (account, item) pairs: the global reference share of every item
    pair_key = np.unique(u * n_items + it)
    global_items = np.bincount(pair_key % n_items, minlength=n_items).astype(np.float64)
    global_total = float(len(pair_key))
    # first-window pairs: what each account touched in [first, first + W)
    early = (t - first[u]) < window
    early_key = np.unique(u[early] * n_items + it[early])
    eu, ei = early_key // n_items, early_key % n_items
    new_items = np.bincount(ei, minlength=n_items).astype(np.float64)
    new_total = float(len(early_key))

    t0 = int(t.min())
    cells: list[pd.DataFrame] = []
    for phase in (0, window // 2):
        ub = (first - t0 + phase) // window  # cohort bucket per account
        cohort = pd.DataFrame({"b": ub[eu], "i": ei, "u": eu})
        per_cell = cohort.groupby(["b", "i"], sort=False).size().rename("c").reset_index()
        per_cell = per_cell[per_cell["c"] >= cfg.min_group]
        if not len(per_cell):
            continue
        m_b = cohort.groupby("b").size()
        per_cell["m"] = per_cell["b"].map(m_b).to_numpy(np.float64)
        # a cohort holding half of all pairs or more (a shop's first weeks) has nothing to be compared with
        per_cell = per_cell[global_total - per_cell["m"] >= per_cell["m"]]
        if not len(per_cell):
            continue
        # established accounts (first event at least one window before the bucket) active in it
        eb = (t - t0 + phase) // window
        est = ub[u] <= eb - 2
        local = pd.DataFrame({"b": eb[est], "u": u[est], "i": it[est]}).drop_duplicates()
        local_cell = local.groupby(["b", "i"]).size().rename("l")
        local_tot = local.groupby("b").size()
        per_cell = per_cell.join(local_cell, on=["b", "i"])
        per_cell["l"] = per_cell["l"].fillna(0.0)
        per_cell["lt"] = per_cell["b"].map(local_tot).fillna(0.0).to_numpy(np.float64)
        c = per_cell["c"].to_numpy(np.float64)
        m = per_cell["m"].to_numpy(np.float64)
        i_arr = per_cell["i"].to_numpy(np.int64)
        # one pseudo-pair per item (Laplace) so that an item nobody else touched is not "impossible"
        q_global = (np.maximum(global_items[i_arr] - c, 0.0) + 1.0) / (global_total - m + n_items)
        q_new = np.maximum(new_items[i_arr] - c, 0.0) / np.maximum(new_total - m, 1.0)
        q_local = (per_cell["l"].to_numpy() + LOCAL_PRIOR_PAIRS * q_global) / (
            per_cell["lt"].to_numpy() + LOCAL_PRIOR_PAIRS
        )
        q = np.maximum.reduce([q_global, q_new, q_local])
        lam = np.maximum(q * m, 1e-12)
        per_cell["expected"] = lam
        per_cell["lift"] = c / lam
        per_cell["p"] = stats.poisson.sf(c - 1.0, lam)
        per_cell["phase"] = phase
        per_cell["start"] = t0 - phase + per_cell["b"].to_numpy(np.int64) * window
        cells.append(per_cell)
    if not cells:
        return flagged_mask, member_targets, []
    tested = pd.concat(cells, ignore_index=True)
    threshold = cfg.alpha / len(tested)
    hits = tested[(tested["p"] <= threshold) & (tested["lift"] >= cfg.min_lift)]
    if not len(hits):
        return flagged_mask, member_targets, []
    groups: list[AttackGroup] = []
    for row in hits.itertuples(index=False):  # few groups: a loop over groups, not over events
        phase, b, item = int(row.phase), int(row.b), int(row.i)
        ub = (first - t0 + phase) // window
        members = eu[(ei == item) & (ub[eu] == b)]
        flagged_mask[members] = True
        for m_u in members.tolist():
            member_targets.setdefault(m_u, set()).add(item)
        sel = np.isin(u, members) & (it == item)
        target_level = float(levels[sel].mean()) if sel.any() else 0.0
        own = np.isin(u, members)
        groups.append(
            AttackGroup(
                item_id=dataset.items.id(item),
                window_start=int(row.start),
                window_end=int(row.start) + window,
                members=len(members),
                expected=float(row.expected),
                lift=float(row.lift),
                p_value=float(row.p),
                direction="push" if target_level >= float(levels[own].mean()) else "nuke",
            )
        )
    return flagged_mask, member_targets, _dedupe(groups)


def _rating_shills(dataset: Dataset) -> list[str]:
    """Accounts of the quality report's extreme-rating check, over the dataset's rating events."""
    from shopmind.ingest.quality import detect_shilling  # quality imports this module

    rating = dataset.event_type == EVENT_CODE["rating"]
    if not rating.any():
        return []
    frame = pd.DataFrame(
        {
            "user_id": dataset.users.ids[dataset.user_idx[rating]],
            "item_id": dataset.items.ids[dataset.item_idx[rating]],
            "rating": dataset.value[rating].astype(np.float64),
            "timestamp": pd.to_datetime(dataset.timestamp[rating], unit="s", utc=True),
        }
    )
    return [str(s["user_id"]) for s in detect_shilling(frame)]


def screen_dataset(
    dataset: Dataset, config: PoisoningConfig | None = None, *, trusted: Iterable[str] = ()
) -> tuple[Dataset, PoisoningReport]:
    """``dataset`` without the events of flagged accounts (vocabularies kept), and the report."""
    report = detect_poisoning(dataset, config, trusted=trusted)
    if not report.n_flagged:
        return dataset, report
    return dataset.subset(report.keep_mask(dataset)), report


def _dedupe(groups: list[AttackGroup]) -> list[AttackGroup]:
    """One group per (item, overlapping window) — the two bucketings find the same burst twice."""
    out: list[AttackGroup] = []
    for g in sorted(groups, key=lambda g: (g.item_id, g.p_value)):
        if any(
            o.item_id == g.item_id and abs(o.window_start - g.window_start) < o.window_end - o.window_start
            for o in out
        ):
            continue
        out.append(g)
    return sorted(out, key=lambda g: g.p_value)


def _evidence(
    dataset: Dataset,
    levels: np.ndarray,
    first: np.ndarray,
    flagged: np.ndarray,
    targets: dict[int, set[int]],
    shills: set[str],
    cfg: PoisoningConfig,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """RDMA, DegSim, profile size and burst span for flagged accounts, and typical values for all."""
    n_users, n_items = dataset.n_users, dataset.n_items
    pairs = pd.DataFrame({"u": dataset.user_idx, "i": dataset.item_idx, "r": levels})
    pairs = pairs.groupby(["u", "i"], sort=True)["r"].max().reset_index()
    pu = pairs["u"].to_numpy(np.int64)
    pi = pairs["i"].to_numpy(np.int64)
    r = pairs["r"].to_numpy(np.float64)
    n_i = np.bincount(pi, minlength=n_items).astype(np.float64)
    mean_i = np.bincount(pi, weights=r, minlength=n_items) / np.maximum(n_i, 1.0)
    dev = np.abs(r - mean_i[pi]) / np.maximum(n_i[pi], 1.0)
    size = np.bincount(pu, minlength=n_users).astype(np.float64)
    rdma = np.bincount(pu, weights=dev, minlength=n_users) / np.maximum(size, 1.0)
    last = np.full(n_users, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, dataset.user_idx.astype(np.int64), dataset.timestamp.astype(np.int64))
    active = size > 0
    reference = {
        "median_profile_size": float(np.median(size[active])) if active.any() else 0.0,
        "median_rdma": float(np.median(rdma[active])) if active.any() else 0.0,
    }
    x = sp.csr_matrix((np.ones(len(pu), dtype=np.float32), (pu, pi)), shape=(n_users, n_items))
    norms = np.sqrt(np.asarray(x.sum(axis=1)).ravel())
    x = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x, dtype=np.float32)
    shown = flagged[:MAX_EVIDENCE]
    degsim = _degsim(x, shown, cfg.neighbours)
    rng = np.random.default_rng(0)
    sample = rng.choice(np.flatnonzero(active), size=min(500, int(active.sum())), replace=False)
    if len(sample):
        reference["median_degsim"] = float(np.median(_degsim(x, np.sort(sample), cfg.neighbours)))
    out = []
    for k, uu in enumerate(shown.tolist()):
        uid = dataset.users.id(uu)
        out.append(
            {
                "user_id": uid,
                "reasons": [
                    r
                    for r, hit in (
                        ("coordinated group", bool(targets.get(uu))),
                        ("extreme ratings", uid in shills),
                    )
                    if hit
                ],
                "targets": sorted(dataset.items.id(j) for j in targets.get(uu, ())),
                "profile_size": int(size[uu]),
                "rdma": round(float(rdma[uu]), 6),
                "degsim": round(float(degsim[k]), 4),
                "burst_hours": round(float(last[uu] - first[uu]) / 3600.0, 2),
            }
        )
    return out, {k: round(v, 6) for k, v in reference.items()}


def _degsim(x: sp.csr_matrix, rows: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine similarity of each of ``rows`` with its ``k`` most similar other rows of ``x``."""
    out = np.zeros(len(rows), dtype=np.float64)
    block = max(1, min(256, 8_000_000 // max(x.shape[0], 1)))  # dense block <= 8M floats
    xt = x.T.tocsr()
    for start in range(0, len(rows), block):
        idx = rows[start : start + block]
        sims = (x[idx] @ xt).toarray()
        sims[np.arange(len(idx)), idx] = -np.inf  # not yourself
        kk = min(k, sims.shape[1] - 1)
        if kk <= 0:
            continue
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        out[start : start + len(idx)] = np.where(np.isfinite(top), top, 0.0).mean(axis=1)
    return out
