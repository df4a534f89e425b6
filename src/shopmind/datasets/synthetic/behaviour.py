"""Customer behaviour: sessions → searches, clicks, views → carts → purchases → orders, ratings,
reviews and returns, simulated for one block of customers at a time (vectorised with numpy).

Model (per session of customer ``u``):

* day ∝ the calendar weight on or after the customer's join day; hour from a two-peak daily profile;
* kind: *replenishment* (re-buy the customer's staple consumable, p = 0.08 when one exists; cart 0.6, buy 0.85) or
  *browsing*; a browsing session picks one of the customer's three preferred leaves with their
  weights (12 % exploration of a random leaf ∝ leaf weight) and, with probability = brand loyalty,
  stays within the favourite brand of that leaf;
* a share of sessions start with a search whose query is built from the leaf's words, the brand or an
  attribute (some with typos); the first viewed item is the clicked result;
* views: geometric count (mean ≈ 3.6); each view draws 3 candidates ∝ popularity from the session's
  span and keeps the one closest to the customer's price percentile (p = 0.75); the last view may
  come from the complement leaf (phone → case, coffee maker → capsules) — "bought together" signal;
* funnel: ``P(cart) = cart_rate · price_fit · e^{0.35·quality} · 1.4^{favourite brand}``,
  ``P(purchase | cart) = purchase_rate``; ratings ``stars = round(3.9 + 0.9·quality + bias + ε)``.

Clean by construction (the data-quality report finds nothing on a fresh shop; no bots or shilling
are planted): an item is carted (and so bought) at most once per session, a customer rates (and
reviews) an item at most once — the first purchase that gets rated —, sessions are cut at the end of
the period instead of clamped onto its last second, and no two events of one customer share item,
type and second (see :func:`_distinct_times`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shopmind.datasets.synthetic.calendar_utils import iso
from shopmind.datasets.synthetic.catalog import BRAND_NAMES, N_LEAVES, Calendar, Catalog, Users
from shopmind.datasets.synthetic.config import ShopConfig
from shopmind.datasets.synthetic.vocab import (
    ASPECTS,
    BRANDS,
    CARRIERS_EN,
    CARRIERS_ZH,
    LEAF_INDEX,
    LEAVES,
    QUERY_MODIFIERS_EN,
    QUERY_MODIFIERS_ZH,
    REVIEW_TITLES,
)

EVENT_COLUMNS = ("id", "user_id", "item_id", "type", "value", "quantity", "query", "session_id", "timestamp")

# Calibrated on the tiny and demo presets: behaviour events per session (views, searches, clicks,
# carts, purchases, wishlists, ratings, returns). Used to turn ``n_events`` into a session budget.
EVENTS_PER_SESSION = 4.25

HOUR_PROFILE = np.array(
    [
        1.2,
        0.7,
        0.4,
        0.3,
        0.3,
        0.4,
        0.7,
        1.2,
        1.8,
        2.2,
        2.4,
        2.7,
        3.2,
        3.0,
        2.6,
        2.5,
        2.6,
        2.8,
        3.0,
        3.5,
        4.2,
        4.5,
        3.8,
        2.3,
    ]
)
HOUR_P = HOUR_PROFILE / HOUR_PROFILE.sum()

COMPLEMENT = np.array([LEAF_INDEX[leaf.complement] if leaf.complement else -1 for leaf in LEAVES])
LEAF_P = np.array([leaf.weight for leaf in LEAVES]) / sum(leaf.weight for leaf in LEAVES)
CONSUMABLE = np.array([leaf.consumable for leaf in LEAVES])


@dataclass
class ChunkResult:
    """One block of customers: events (schema columns), orders and reviews (JSON-ready dicts) and the
    purchases ``(item index, day index, units)`` that feed daily sales."""

    events: pd.DataFrame
    orders: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    purchase_item: np.ndarray
    purchase_day: np.ndarray
    purchase_qty: np.ndarray


def n_chunks(config: ShopConfig) -> int:
    return -(-config.n_users // config.chunk_users)


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of each expanded row within its group for ``np.repeat(…, counts)``."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _distinct_times(
    user: np.ndarray, item: np.ndarray, kind: np.ndarray, ts: np.ndarray, lo: int, hi: int
) -> np.ndarray:
    """Timestamps moved by a second where two events share (user, item, type, second).

    The simulation already avoids such pairs (one cart/purchase per item and session, one rating per
    customer and item, no clamping at the period end); what remains is two overlapping sessions of one
    customer touching the same item in the same second, which would read as a duplicate event.
    A clash moves the later event forward (backward at the period end) until every key is unique.
    """
    ts = ts.copy()
    codes = pd.factorize(kind)[0]
    for _ in range(64):
        o = np.lexsort((ts, codes, item, user))
        u, i, k, t = user[o], item[o], codes[o], ts[o]
        clash = (u[1:] == u[:-1]) & (i[1:] == i[:-1]) & (k[1:] == k[:-1]) & (t[1:] == t[:-1])
        if not clash.any():
            break
        moved = o[1:][clash]
        ts[moved] = np.where(ts[moved] + 1 < hi, ts[moved] + 1, np.maximum(ts[moved] - 1, lo))
    return ts


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 4:
        return word
    k = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(4))
    if op == 0:  # drop
        return word[:k] + word[k + 1 :]
    if op == 1:  # swap
        return word[: k - 1] + word[k] + word[k - 1] + word[k + 1 :]
    if op == 2:  # double
        return word[:k] + word[k] + word[k:]
    return word[:k] + "qwertyuiopasdfghjklzxcvbnm"[int(rng.integers(26))] + word[k + 1 :]


def _query(
    leaf: int, brand: int, lang: str, item_attrs: dict, rng: np.random.Generator, typo_rate: float
) -> str:
    spec = LEAVES[leaf]
    mode = rng.random()
    if lang == "zh":
        noun = (
            spec.path_zh[-1] if rng.random() < 0.6 else spec.nouns_zh[int(rng.integers(len(spec.nouns_zh)))]
        )
        if mode < 0.3 and brand >= 0:
            return f"{BRANDS[BRAND_NAMES[brand]][0]} {noun}"
        if mode < 0.45:
            return f"{QUERY_MODIFIERS_ZH[int(rng.integers(len(QUERY_MODIFIERS_ZH)))]}{noun}"
        return noun
    noun = (
        spec.path_en[-1].lower()
        if rng.random() < 0.6
        else spec.nouns_en[int(rng.integers(len(spec.nouns_en)))].lower()
    )
    if mode < 0.3 and brand >= 0:
        q = f"{BRAND_NAMES[brand].lower()} {noun}"
    elif mode < 0.5:
        val = next(
            (v for k, v in item_attrs.items() if k in {"capacity", "colour", "material", "power"} and v),
            None,
        )
        q = f"{str(val).lower()} {noun}" if val is not None else noun
    elif mode < 0.6:
        q = f"{QUERY_MODIFIERS_EN[int(rng.integers(len(QUERY_MODIFIERS_EN)))]} {noun}"
    else:
        q = noun
    if rng.random() < typo_rate:
        words = q.split()
        j = int(rng.integers(len(words)))
        words[j] = _typo(words[j], rng)
        q = " ".join(words)
    return q


def _tracking(carrier: str, rng: np.random.Generator) -> str:
    def digits(n: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, size=n).tolist())

    if carrier == "UPS":
        return (
            "1Z"
            + "".join("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"[i] for i in rng.integers(0, 33, 6))
            + digits(10)
        )
    if carrier == "FedEx":
        return digits(12)
    if carrier == "DHL":
        return digits(10)
    if carrier == "USPS":
        return "9400" + digits(18)
    if carrier == "SF Express":
        return "SF" + digits(13)
    if carrier == "JD Logistics":
        return "JDV" + digits(12)
    if carrier == "ZTO":
        return "7" + digits(13)
    return "YT" + digits(13)


def _review_text(leaf: int, stars: int, lang: str, rng: np.random.Generator) -> tuple[str, str]:
    spec = LEAVES[leaf]
    n = int(rng.integers(1, 4))
    aspects = list(rng.choice(spec.aspects, size=min(n, len(spec.aspects)), replace=False))
    parts = []
    zh = lang == "zh"
    for j, aspect in enumerate(aspects):
        pos_en, neg_en, pos_zh, neg_zh = ASPECTS[str(aspect)]
        if stars >= 4:
            positive = not (stars == 4 and j > 0 and rng.random() < 0.25)
        elif stars <= 2:
            positive = stars == 2 and j > 0 and rng.random() < 0.25
        else:
            positive = j % 2 == 0
        pool = (pos_zh if positive else neg_zh) if zh else (pos_en if positive else neg_en)
        parts.append(pool[int(rng.integers(len(pool)))])
    titles = REVIEW_TITLES["zh" if zh else "en"][stars]
    return titles[int(rng.integers(len(titles)))], ("" if zh else " ").join(parts)


def simulate_chunk(
    config: ShopConfig, calendar: Calendar, catalog: Catalog, users: Users, chunk: int
) -> ChunkResult:
    """Simulate customers ``[chunk·chunk_users, (chunk+1)·chunk_users)`` with their own seeded RNG."""
    rng = np.random.default_rng([config.seed, 3, chunk])
    u0 = chunk * config.chunk_users
    uidx = np.arange(u0, min(u0 + config.chunk_users, len(users)))
    n_sess = rng.poisson(users.activity[uidx])
    s_user = np.repeat(uidx, n_sess)
    S = len(s_user)
    s_day = calendar.sample_days(rng, users.join_day[s_user])
    s_start = (
        calendar.start_ts
        + s_day * 86_400
        + rng.choice(24, size=S, p=HOUR_P) * 3_600
        + rng.integers(0, 3_600, S)
    )
    s_lang = users.lang[s_user]
    staple = users.staple[s_user]
    is_rep = (staple >= 0) & (rng.random(S) < 0.08)
    cum_w = np.cumsum(users.pref_w[s_user], axis=1)
    slot = np.minimum((rng.random(S)[:, None] > cum_w).sum(axis=1), 2)
    explore = rng.random(S) < 0.12
    s_leaf = users.pref_leaf[s_user, slot]
    s_leaf[explore] = rng.choice(N_LEAVES, size=int(explore.sum()), p=LEAF_P)
    s_brand = users.fav_brand[s_user, slot]
    restricted = ~explore & (rng.random(S) < users.loyalty[s_user])
    s_brand = np.where(restricted, s_brand, -1)
    is_search = ~is_rep & (rng.random(S) < config.search_rate)
    n_views = np.minimum(rng.geometric(0.28, S), 25)
    n_views[is_rep] = 1
    n_views[is_search & (rng.random(S) < 0.15)] = 0  # searched, clicked nothing
    comp = COMPLEMENT[s_leaf]
    has_comp = ~is_rep & (comp >= 0) & (n_views >= 2) & (rng.random(S) < 0.3)

    # ------------------------------------------------------------ views
    v_sess = np.repeat(np.arange(S), n_views)
    v_pos = _within(n_views)
    V = len(v_sess)
    v_user = s_user[v_sess]
    is_comp = has_comp[v_sess] & (v_pos == n_views[v_sess] - 1)
    v_leaf = np.where(is_comp, comp[v_sess], s_leaf[v_sess])
    v_brand = s_brand[v_sess]
    lb = catalog.leaf_brand_span[v_leaf, np.maximum(v_brand, 0)]
    use_b = (v_brand >= 0) & (lb[:, 1] > lb[:, 0])
    ls = catalog.leaf_span[v_leaf]
    start = np.where(use_b, lb[:, 0], ls[:, 0])
    end = np.where(use_b, lb[:, 1], ls[:, 1])
    cand = catalog.sample(rng, np.repeat(start, 3), np.repeat(end, 3)).reshape(V, 3)
    dist = np.abs(catalog.price_pct[cand] - users.price_pref[v_user][:, None])
    pick = np.where(rng.random(V) < 0.75, np.argmin(dist, axis=1), 0)
    v_item = cand[np.arange(V), pick]
    rep_v = is_rep[v_sess]
    v_item[rep_v] = staple[v_sess][rep_v]
    gaps = rng.exponential(50.0, V) + 5.0
    csum = np.cumsum(gaps)
    offsets = np.repeat(np.cumsum(n_views) - n_views, n_views)
    before = np.where(offsets > 0, csum[np.maximum(offsets - 1, 0)], 0.0)
    v_time = s_start[v_sess] + np.where(is_search[v_sess], 8, 0) + (csum - before).astype(np.int64)
    # A session still running when the simulated period ends is cut there (views are in time order
    # within a session, so the cut drops a suffix); clamping instead would pile events on one second.
    end_ts = calendar.end_ts
    inside = v_time < end_ts
    if not inside.all():
        v_sess, v_user, v_item, v_time = v_sess[inside], v_user[inside], v_item[inside], v_time[inside]
        rep_v = rep_v[inside]
        n_views = np.bincount(v_sess, minlength=S)
        V = len(v_sess)

    # ------------------------------------------------------------ funnel
    fit = 1.5 - np.abs(catalog.price_pct[v_item] - users.price_pref[v_user])
    fav = (catalog.brand[v_item][:, None] == users.fav_brand[v_user]).any(axis=1)
    p_cart = config.cart_rate * fit * np.exp(0.35 * catalog.quality[v_item]) * np.where(fav, 1.4, 1.0)
    p_cart = np.where(rep_v, 0.6, np.minimum(p_cart, 0.9))
    carted = rng.random(V) < p_cart
    c_time = v_time + 5 + rng.integers(0, 40, V)
    wish = ~carted & (rng.random(V) < 0.02) & (v_time + 10 < end_ts)
    # An item already in the session's cart is not added again when viewed again: one cart (and so
    # at most one purchase) per item and session, as the order has one line per item.
    carted &= c_time < end_ts
    c_first = np.flatnonzero(carted)
    if len(c_first):
        _, first = np.unique(v_sess[c_first] * len(catalog) + v_item[c_first], return_index=True)
        carted[:] = False
        carted[c_first[first]] = True
    p_buy = np.where(rep_v, 0.85, config.purchase_rate)
    bought = carted & (rng.random(V) < p_buy)
    cons = CONSUMABLE[catalog.leaf[v_item]]
    qty = 1 + (rng.random(V) < np.where(cons, 0.4, 0.08)) * rng.integers(1, 3, V)
    last_view = np.zeros(S, dtype=np.int64)
    has_views = n_views > 0
    last_view[has_views] = v_time[np.cumsum(n_views)[has_views] - 1]
    checkout = last_view + 60 + rng.exponential(120.0, S).astype(np.int64)
    bought &= checkout[v_sess] < end_ts  # no orders after the period
    b_idx = np.flatnonzero(bought)
    b_time = checkout[v_sess[b_idx]]

    # ------------------------------------------------------------ searches and clicks
    sq = np.flatnonzero(is_search)
    first_view = np.cumsum(n_views) - n_views
    queries = np.empty(S, dtype=object)
    for s in sq:
        item_for_attr = v_item[first_view[s]] if n_views[s] else None
        attrs = catalog.attributes[item_for_attr] if item_for_attr is not None else {}
        queries[s] = _query(int(s_leaf[s]), int(s_brand[s]), str(s_lang[s]), attrs, rng, config.typo_rate)
    clicked = sq[n_views[sq] > 0]
    c_view = first_view[clicked]
    c_pos = np.minimum(rng.geometric(0.45, len(clicked)), 20)

    # ------------------------------------------------------------ ratings and reviews
    r_mask = rng.random(len(b_idx)) < config.rating_rate
    r_idx = b_idx[r_mask]
    r_time = b_time[r_mask] + rng.integers(3, 26, len(r_idx)) * 86_400 + rng.integers(0, 86_400, len(r_idx))
    keep = r_time < end_ts
    r_idx, r_time = r_idx[keep], r_time[keep]
    # One rating (and at most one review) per customer and item: a re-bought item is not rated again,
    # so the earliest rating of each (customer, item) is kept.
    by_time = np.argsort(r_time, kind="stable")
    _, first = np.unique(
        (v_user[r_idx] * len(catalog) + v_item[r_idx])[by_time].astype(np.int64), return_index=True
    )
    once = np.sort(by_time[first])
    r_idx, r_time = r_idx[once], r_time[once]
    stars = np.clip(
        np.rint(
            3.9
            + 0.9 * catalog.quality[v_item[r_idx]]
            + users.rating_bias[v_user[r_idx]]
            + rng.normal(0, 0.7, len(r_idx))
        ),
        1,
        5,
    ).astype(np.int64)
    written = rng.random(len(r_idx)) < config.review_text_rate

    chunk_tag = (chunk + 1) * 1_000_000_000
    session_ids = "S" + pd.Series(chunk_tag + np.arange(S), dtype="int64").astype(str).to_numpy(dtype=object)
    reviews: list[dict[str, Any]] = []
    for rk in np.flatnonzero(written):
        rv = r_idx[rk]
        lang = str(users.lang[v_user[rv]])
        title, text = _review_text(int(catalog.leaf[v_item[rv]]), int(stars[rk]), lang, rng)
        reviews.append(
            {
                "id": f"R{chunk_tag + rk}",
                "user_id": users.ids[v_user[rv]],
                "item_id": catalog.ids[v_item[rv]],
                "rating": int(stars[rk]),
                "title": title,
                "text": text,
                "language": lang,
                "created_at": iso(int(r_time[rk])),
            }
        )

    # ------------------------------------------------------------ orders, statuses, returns
    orders: list[dict[str, Any]] = []
    ret_item: list[int] = []
    ret_user: list[int] = []
    ret_qty: list[int] = []
    ret_time: list[int] = []
    ret_sess: list[int] = []
    if len(b_idx):
        o_sess, o_first = np.unique(v_sess[b_idx], return_index=True)
        o_bounds = np.append(o_first, len(b_idx))
        fate = rng.random(len(o_sess))
        ship_delay = rng.uniform(0.3, 2.0, len(o_sess)) * 86_400
        transit = rng.uniform(1.0, 5.0, len(o_sess)) * 86_400
        req_delay = rng.uniform(2.0, 20.0, len(o_sess)) * 86_400
        back_delay = rng.uniform(4.0, 10.0, len(o_sess)) * 86_400
        for k, s in enumerate(o_sess):
            lines_idx = b_idx[o_bounds[k] : o_bounds[k + 1]]
            items_here: dict[int, int] = {}
            for v in lines_idx:
                items_here[int(v_item[v])] = items_here.get(int(v_item[v]), 0) + int(qty[v])
            created = int(checkout[s])
            zh = s_lang[s] == "zh"
            carriers = CARRIERS_ZH if zh else CARRIERS_EN
            order: dict[str, Any] = {
                "id": f"ORD-{chunk + 1:04d}-{k + 1:06d}",
                "user_id": users.ids[s_user[s]],
                "lines": [
                    {"item_id": catalog.ids[i], "quantity": q, "unit_price": float(catalog.price[i])}
                    for i, q in items_here.items()
                ],
                "currency": "USD",
                "created_at": iso(created),
            }
            paid = created + 120
            shipped = int(created + ship_delay[k])
            delivered = int(shipped + transit[k])
            status, updated = "pending", created
            if end_ts - created > 120:
                status, updated = "paid", paid
            if fate[k] < 0.04:  # cancelled before shipping
                cancel = int(created + ship_delay[k] * 0.5)
                if cancel < end_ts:
                    status, updated = "cancelled", cancel
            elif shipped < end_ts:
                carrier = carriers[int(rng.integers(len(carriers)))]
                order.update(
                    carrier=carrier, tracking_number=_tracking(carrier, rng), shipped_at=iso(shipped)
                )
                status, updated = "shipped", shipped
                if delivered < end_ts:
                    order["delivered_at"] = iso(delivered)
                    status, updated = "delivered", delivered
                    requested = int(delivered + req_delay[k])
                    if fate[k] < 0.095 and requested < end_ts:
                        status, updated = "return_requested", requested
                        back = int(requested + back_delay[k])
                        if back < end_ts:
                            status, updated = "returned", back
                            for i, q in items_here.items():
                                ret_item.append(i)
                                ret_user.append(int(s_user[s]))
                                ret_qty.append(q)
                                ret_time.append(back)
                                ret_sess.append(-1)
            order["status"] = status
            order["updated_at"] = iso(updated)
            orders.append(order)

    # ------------------------------------------------------------ assemble events
    def block(user, item, kind, value, quantity, query, sess, ts):
        n = len(ts)
        return (
            np.asarray(user, dtype=np.int64),
            np.asarray(item, dtype=np.int64),
            np.full(n, kind, dtype=object),
            np.asarray(value, dtype=np.float64) if value is not None else np.full(n, np.nan),
            np.asarray(quantity, dtype=np.int64) if quantity is not None else np.ones(n, dtype=np.int64),
            query if query is not None else np.full(n, None, dtype=object),
            np.asarray(sess, dtype=np.int64),
            np.asarray(ts, dtype=np.int64),
        )

    c_idx = np.flatnonzero(carted)
    w_idx = np.flatnonzero(wish)
    parts = [
        block(s_user[sq], np.full(len(sq), -1), "search", None, None, queries[sq], sq, s_start[sq]),
        block(
            v_user[c_view],
            v_item[c_view],
            "click",
            c_pos,
            None,
            queries[clicked],
            clicked,
            v_time[c_view] - 2,
        ),
        block(v_user, v_item, "view", None, None, None, v_sess, v_time),
        block(v_user[w_idx], v_item[w_idx], "wishlist", None, None, None, v_sess[w_idx], v_time[w_idx] + 10),
        block(
            v_user[c_idx],
            v_item[c_idx],
            "cart",
            None,
            qty[c_idx],
            None,
            v_sess[c_idx],
            c_time[c_idx],
        ),
        block(v_user[b_idx], v_item[b_idx], "purchase", None, qty[b_idx], None, v_sess[b_idx], b_time),
        block(v_user[r_idx], v_item[r_idx], "rating", stars, None, None, np.full(len(r_idx), -1), r_time),
        block(ret_user, ret_item, "return", None, ret_qty, None, ret_sess, ret_time),
    ]
    cols = [np.concatenate([p[j] for p in parts]) for j in range(8)]
    user, item, kind, value, quantity, query, sess, ts = cols
    ts = _distinct_times(user, item, kind, ts, calendar.start_ts, end_ts)
    order_ix = np.lexsort((np.arange(len(ts)), ts))
    user, item, kind, value, quantity, query, sess, ts = (
        c[order_ix] for c in (user, item, kind, value, quantity, query, sess, ts)
    )
    item_ids = np.asarray(catalog.ids, dtype=object)
    user_ids = np.asarray(users.ids, dtype=object)
    events = pd.DataFrame(
        {
            "id": "E" + pd.Series(chunk_tag + np.arange(len(ts)), dtype="int64").astype(str),
            "user_id": user_ids[user],
            "item_id": np.where(item >= 0, item_ids[np.maximum(item, 0)], None),
            "type": kind,
            "value": value,
            "quantity": quantity,
            "query": query,
            "session_id": np.where(sess >= 0, session_ids[np.maximum(sess, 0)] if S else None, None),
            "timestamp": pd.to_datetime(ts, unit="s", utc=True),
        }
    )
    p_day = ((b_time - calendar.start_ts) // 86_400).clip(0, calendar.days - 1)
    return ChunkResult(
        events=events,
        orders=orders,
        reviews=reviews,
        purchase_item=v_item[b_idx],
        purchase_day=p_day,
        purchase_qty=qty[b_idx],
    )
