"""Data-quality report over what the store holds: ``quality_report(store) -> dict`` (JSON-safe).

Sections:

* ``counts`` — rows per table;
* ``duplicates`` — events with identical content under different ids (same user, item, type,
  timestamp), items sharing a normalised title and brand, several reviews of one item by one user;
* ``missing`` — per kind and field, how many rows lack a value (and the share);
* ``unknown_references`` — events/orders/sales/reviews naming items or users the store does not know
  (rows can get there through the Python API or loaders, which do not check references);
* ``out_of_range`` — prices <= 0 or above ``max_price``, ratings outside 1–5, timestamps before
  2000-01-01 or in the future (more than one day after ``now``);
* ``bots`` — users whose event rate is inhuman: at least ``bot_events_per_minute`` events inside
  some 60-second window, sustained over ``bot_min_events`` events in total (a sliding-window count
  per user, vectorised with ``searchsorted`` over (user, time) keys);
* ``shilling`` — accounts giving many extreme ratings (1 or 5 stars on a 1–5 scale) to few items in
  a short time: within some ``shill_window_hours`` window at least ``shill_min_ratings`` extreme
  ratings touching at most ``shill_max_items`` distinct items (the profile of push/nuke attacks,
  cf. Gunes et al., "Shilling attacks against recommender systems", AI Review 2014);
* ``poisoning`` — coordinated fake-account groups (new accounts that appear together and all touch one
  item; :mod:`shopmind.ingest.poisoning`): the groups, the flagged accounts with their evidence (RDMA,
  DegSim, profile size, burst span). Training leaves these accounts out (``training.poisoning``);
  ``trusted_users`` are never flagged;
* ``findings`` — everything above as a list of ``{severity, code, message, count, examples}``.

:func:`render_quality` prints the report with rich.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shopmind.ingest.poisoning import PoisoningConfig, detect_poisoning
from shopmind.ingest.validate import jsonable
from shopmind.privacy import ERASED_USER_PREFIX
from shopmind.store.base import Store

log = logging.getLogger(__name__)

EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
EXAMPLES = 10


def quality_report(
    store: Store,
    *,
    now: datetime | None = None,
    max_price: float = 1_000_000.0,
    bot_events_per_minute: int = 30,
    bot_min_events: int = 100,
    shill_min_ratings: int = 5,
    shill_max_items: int = 3,
    shill_window_hours: float = 24.0,
    trusted_users: Sequence[str] = (),
    poisoning: PoisoningConfig | None = None,
) -> dict[str, Any]:
    """Audit the store; see the module docstring for every check and threshold."""
    now_ts = pd.Timestamp(now or datetime.now(UTC))
    now_ts = now_ts.tz_localize("UTC") if now_ts.tzinfo is None else now_ts.tz_convert("UTC")
    future = now_ts + timedelta(days=1)
    items = store.items_frame()
    users = store.users_frame()
    events = store.events_frame()
    orders = store.orders_frame()
    sales = store.sales_frame()
    reviews = store.reviews_frame()
    docs = store.documents()
    item_ids = set(items["id"]) if len(items) else set()
    user_ids = set(users["id"]) if len(users) else set()
    findings: list[dict[str, Any]] = []

    def finding(severity: str, code: str, message: str, count: Any, examples: Any = None) -> None:
        if count:
            findings.append(
                {
                    "severity": severity,
                    "code": code,
                    "message": message,
                    "count": int(count),
                    "examples": jsonable(list(examples)[:EXAMPLES]) if examples is not None else [],
                }
            )

    # ---------------------------------------------------------------- duplicates
    duplicates: dict[str, int] = {}
    if len(events):
        key = ["user_id", "item_id", "type", "timestamp"]
        dup = events.duplicated(subset=key, keep="first")
        duplicates["events_same_content"] = int(dup.sum())
        finding(
            "warning",
            "duplicate_events",
            "events with the same user, item, type and timestamp under different ids",
            dup.sum(),
            events.loc[dup, "id"],
        )
    if len(items):
        norm = (
            items["title"].str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
            + "\x00"
            + items["brand"].fillna("").str.casefold()
        )
        dup = norm.duplicated(keep="first")
        duplicates["items_same_title_brand"] = int(dup.sum())
        finding(
            "info",
            "duplicate_items",
            "items sharing title and brand with another item (possible duplicates)",
            dup.sum(),
            items.loc[dup, "id"],
        )
    if len(reviews):
        dup = reviews.duplicated(subset=["user_id", "item_id"], keep="first")
        duplicates["reviews_same_user_item"] = int(dup.sum())
        finding(
            "warning",
            "duplicate_reviews",
            "several reviews of one item by the same user",
            dup.sum(),
            reviews.loc[dup, "id"],
        )

    # ---------------------------------------------------------------- missing fields
    missing: dict[str, dict[str, dict[str, float]]] = {}

    def count_missing(kind: str, frame: pd.DataFrame, fields: dict[str, pd.Series]) -> None:
        n = len(frame)
        if not n:
            return
        out = {}
        for name, mask in fields.items():
            k = int(mask.sum())
            out[name] = {"missing": k, "share": round(k / n, 4)}
        missing[kind] = out

    if len(items):
        count_missing(
            "items",
            items,
            {
                "description": items["description"].fillna("").str.strip() == "",
                "category": items["category"].map(lambda c: not c),
                "brand": items["brand"].isna(),
                "price": items["price"].isna(),
                "stock": items["stock"].isna(),
                "image_url": items["image_url"].isna(),
                "attributes": items["attributes"].map(lambda a: not a),
            },
        )
        share = missing["items"]["price"]["share"]
        finding(
            "warning" if share > 0.1 else "info",
            "items_without_price",
            "items without a price",
            missing["items"]["price"]["missing"],
            items.loc[items["price"].isna(), "id"],
        )
        finding(
            "info",
            "items_without_category",
            "items without a category",
            missing["items"]["category"]["missing"],
            items.loc[items["category"].map(lambda c: not c), "id"],
        )
    if len(users):
        count_missing(
            "users", users, {"email": users["email"].isna(), "created_at": users["created_at"].isna()}
        )
    if len(events):
        count_missing(
            "events",
            events,
            {
                "session_id": events["session_id"].isna(),
                "item_id": events["item_id"].isna() & (events["type"] != "search"),
            },
        )
    if len(reviews):
        count_missing("reviews", reviews, {"text": reviews["text"].fillna("").str.strip() == ""})
    if docs:
        frame = pd.DataFrame({"tags": [d.tags for d in docs], "url": [d.url for d in docs]})
        count_missing(
            "documents", frame, {"tags": frame["tags"].map(lambda t: not t), "url": frame["url"].isna()}
        )

    # ---------------------------------------------------------------- unknown references
    unknown: dict[str, int] = {}

    def refs(name: str, frame: pd.DataFrame, col: str, known: set[str], id_col: str, what: str) -> None:
        if not len(frame):
            return
        mask = frame[col].notna() & ~frame[col].isin(known)
        unknown[name] = int(mask.sum())
        finding(
            "error",
            f"unknown_{name}",
            f"{what} referring to unknown ids",
            mask.sum(),
            frame.loc[mask, id_col] + " → " + frame.loc[mask, col].astype(str),
        )

    refs("event_items", events, "item_id", item_ids, "id", "events")
    if user_ids:  # a shop without a users table has only implicit users
        refs("event_users", events, "user_id", user_ids, "id", "events")
        # an erased customer's kept orders name a random placeholder on purpose (shopmind.privacy)
        named = (
            orders[~orders["user_id"].astype(str).str.startswith(ERASED_USER_PREFIX)]
            if len(orders)
            else orders
        )
        refs("order_users", named.drop_duplicates("order_id"), "user_id", user_ids, "order_id", "orders")
        refs("review_users", reviews, "user_id", user_ids, "id", "reviews")
    refs("order_items", orders, "item_id", item_ids, "order_id", "order lines")
    refs(
        "sales_items",
        sales.assign(key=sales["item_id"] + "@" + sales["date"].astype(str)) if len(sales) else sales,
        "item_id",
        item_ids,
        "key",
        "sales rows",
    )
    refs("review_items", reviews, "item_id", item_ids, "id", "reviews")

    # ---------------------------------------------------------------- out of range
    out_of_range: dict[str, int] = {}
    if len(items):
        bad = items["price"].notna() & ((items["price"] <= 0) | (items["price"] > max_price))
        out_of_range["item_price"] = int(bad.sum())
        finding(
            "warning",
            "item_price_out_of_range",
            f"item prices <= 0 or above {max_price:g}",
            bad.sum(),
            items.loc[bad, "id"] + "=" + items.loc[bad, "price"].astype(str),
        )
    if len(orders):
        bad = (orders["unit_price"] <= 0) | (orders["unit_price"] > max_price)
        out_of_range["order_unit_price"] = int(bad.sum())
        finding(
            "warning",
            "order_price_out_of_range",
            "order lines with unit price <= 0 or too high",
            bad.sum(),
            orders.loc[bad, "order_id"],
        )
    if len(events):
        rating = events["type"] == "rating"
        bad = rating & ~events["value"].between(1, 5)
        out_of_range["event_rating"] = int(bad.sum())
        finding(
            "warning",
            "rating_out_of_range",
            "rating events outside the 1-5 scale",
            bad.sum(),
            events.loc[bad, "id"] + "=" + events.loc[bad, "value"].astype(str),
        )
    for name, frame, col, id_col in (
        ("events", events, "timestamp", "id"),
        ("orders", orders.drop_duplicates("order_id") if len(orders) else orders, "created_at", "order_id"),
        ("reviews", reviews, "created_at", "id"),
        ("items", items, "created_at", "id"),
        ("users", users, "created_at", "id"),
    ):
        if not len(frame):
            continue
        ts = frame[col]
        old = ts.notna() & (ts < EARLIEST)
        fut = ts.notna() & (ts > future)
        out_of_range[f"{name}_before_2000"] = int(old.sum())
        out_of_range[f"{name}_in_future"] = int(fut.sum())
        finding(
            "warning",
            f"{name}_time_before_2000",
            f"{name} with {col} before 2000-01-01",
            old.sum(),
            frame.loc[old, id_col],
        )
        finding(
            "warning",
            f"{name}_time_in_future",
            f"{name} with {col} in the future",
            fut.sum(),
            frame.loc[fut, id_col],
        )
    if len(sales):
        bad = sales["price"].notna() & ((sales["price"] <= 0) | (sales["price"] > max_price))
        out_of_range["sales_price"] = int(bad.sum())

    # ---------------------------------------------------------------- bots and shilling
    bots = detect_bots(events, per_minute=bot_events_per_minute, min_events=bot_min_events)
    finding(
        "warning",
        "bot_like_users",
        f"users with >= {bot_events_per_minute} events in a minute and >= {bot_min_events} events in total",
        len(bots),
        [b["user_id"] for b in bots],
    )
    ratings = rating_frame(events, reviews)
    shills = detect_shilling(
        ratings, min_ratings=shill_min_ratings, max_items=shill_max_items, window_hours=shill_window_hours
    )
    finding(
        "warning",
        "suspected_shilling",
        f"accounts with >= {shill_min_ratings} extreme ratings on <= {shill_max_items} items within "
        f"{shill_window_hours:g} h",
        len(shills),
        [s["user_id"] for s in shills],
    )

    coordinated = detect_poisoning(store.load_dataset(), poisoning, trusted=trusted_users)
    finding(
        "warning",
        "coordinated_fake_accounts",
        "new accounts appearing together and all pushing the same item (excluded from training)",
        coordinated.n_flagged,
        coordinated.flagged_ids,
    )

    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (order[f["severity"]], -f["count"]))
    report = {
        "generated_at": datetime.now(UTC).isoformat(),
        "store": _safe_url(getattr(store, "url", "")),
        "counts": store.counts(),
        "duplicates": duplicates,
        "missing": missing,
        "unknown_references": unknown,
        "out_of_range": out_of_range,
        "bots": bots,
        "shilling": shills,
        "poisoning": coordinated.to_dict(max_accounts=200),
        "thresholds": {
            "max_price": max_price,
            "bot_events_per_minute": bot_events_per_minute,
            "bot_min_events": bot_min_events,
            "shill_min_ratings": shill_min_ratings,
            "shill_max_items": shill_max_items,
            "shill_window_hours": shill_window_hours,
        },
        "findings": findings,
        "summary": {s: sum(1 for f in findings if f["severity"] == s) for s in ("error", "warning", "info")},
    }
    return jsonable(report)


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:  # drop credentials
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _window_counts(group: np.ndarray, seconds: np.ndarray, window: float) -> np.ndarray:
    """For each event (sorted by group, time), how many events of its group fall in [t, t + window)."""
    # Groups are separated by a gap larger than any time span, so one searchsorted serves all users.
    span = float(seconds.max() - seconds.min()) + window + 1.0 if len(seconds) else 1.0
    key = group.astype(np.float64) * span + (seconds - seconds.min())
    end = np.searchsorted(key, key + window, side="left")
    return end - np.arange(len(key))


def detect_bots(events: pd.DataFrame, *, per_minute: int = 30, min_events: int = 100) -> list[dict[str, Any]]:
    """Users with >= ``per_minute`` events inside some 60-second window and >= ``min_events`` events."""
    if not len(events):
        return []
    codes, users = pd.factorize(events["user_id"])
    secs = (
        (pd.to_datetime(events["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC"))
        .dt.total_seconds()
        .to_numpy()
    )
    order = np.lexsort((secs, codes))
    g, s = codes[order], secs[order]
    counts = _window_counts(g, s, 60.0)
    per_user = pd.DataFrame({"u": g, "c": counts, "t": s})
    agg = per_user.groupby("u").agg(
        max_per_minute=("c", "max"), events=("c", "size"), first=("t", "min"), last=("t", "max")
    )
    hit = agg[(agg["max_per_minute"] >= per_minute) & (agg["events"] >= min_events)]
    hit = hit.sort_values(["max_per_minute", "events"], ascending=False)
    out = []
    for u, row in hit.iterrows():
        span_min = max((row["last"] - row["first"]) / 60.0, 1 / 60)
        out.append(
            {
                "user_id": str(users[int(u)]),
                "max_events_per_minute": int(row["max_per_minute"]),
                "events": int(row["events"]),
                "mean_events_per_minute": round(float(row["events"]) / span_min, 2),
                "first": pd.Timestamp(row["first"], unit="s", tz="UTC").isoformat(),
                "last": pd.Timestamp(row["last"], unit="s", tz="UTC").isoformat(),
            }
        )
    return out


def rating_frame(events: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Every star rating (rating events and reviews): user_id, item_id, rating, timestamp."""
    parts = []
    if len(events):
        ev = events[events["type"] == "rating"]
        parts.append(
            pd.DataFrame(
                {
                    "user_id": ev["user_id"],
                    "item_id": ev["item_id"],
                    "rating": ev["value"],
                    "timestamp": ev["timestamp"],
                }
            )
        )
    if len(reviews):
        parts.append(
            pd.DataFrame(
                {
                    "user_id": reviews["user_id"],
                    "item_id": reviews["item_id"],
                    "rating": reviews["rating"].astype("float64"),
                    "timestamp": reviews["created_at"],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["user_id", "item_id", "rating", "timestamp"])
    return pd.concat(parts, ignore_index=True)


def detect_shilling(
    ratings: pd.DataFrame, *, min_ratings: int = 5, max_items: int = 3, window_hours: float = 24.0
) -> list[dict[str, Any]]:
    """Accounts with >= ``min_ratings`` extreme (<= 1 or >= 5) ratings on <= ``max_items`` items in a window."""
    if not len(ratings):
        return []
    ext = ratings[(ratings["rating"] <= 1) | (ratings["rating"] >= 5)].reset_index(drop=True)
    if not len(ext):
        return []
    codes, users = pd.factorize(ext["user_id"])
    secs = (
        (pd.to_datetime(ext["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    )
    order = np.lexsort((secs, codes))
    g, s = codes[order], secs[order]
    window = window_hours * 3600.0
    counts = _window_counts(g, s, window)
    dense = np.flatnonzero(counts >= min_ratings)
    out: dict[int, dict[str, Any]] = {}
    items = ext["item_id"].to_numpy(dtype=object)[order]
    stars = ext["rating"].to_numpy(dtype=np.float64)[order]
    for start in dense.tolist():  # few candidates: the per-window item check can be a Python loop
        stop = start + int(counts[start])
        distinct = set(items[start:stop].tolist())
        if len(distinct) > max_items:
            continue
        u = int(g[start])
        if u in out and out[u]["extreme_ratings_in_window"] >= stop - start:
            continue
        out[u] = {
            "user_id": str(users[u]),
            "extreme_ratings_in_window": int(stop - start),
            "items": sorted(str(i) for i in distinct),
            "direction": "push" if float(np.mean(stars[start:stop])) >= 3 else "nuke",
            "window_start": pd.Timestamp(s[start], unit="s", tz="UTC").isoformat(),
            "window_end": pd.Timestamp(s[stop - 1], unit="s", tz="UTC").isoformat(),
        }
    return sorted(out.values(), key=lambda r: -r["extreme_ratings_in_window"])


def render_quality(report: dict[str, Any], console: Any) -> None:
    """Print the report as rich tables (counts, findings, bots, shilling)."""
    from rich.table import Table

    counts = Table(title="Store contents", show_header=True)
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for name, n in report["counts"].items():
        counts.add_row(name, f"{n:,}")
    console.print(counts)

    colours = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    findings = Table(title="Data-quality findings", show_header=True, show_lines=False)
    findings.add_column("severity")
    findings.add_column("finding")
    findings.add_column("count", justify="right")
    findings.add_column("examples", overflow="fold", max_width=60)
    for f in report["findings"]:
        findings.add_row(
            f"[{colours[f['severity']]}]{f['severity']}[/]",
            f["message"],
            f"{f['count']:,}",
            ", ".join(str(e) for e in f["examples"][:5]),
        )
    if not report["findings"]:
        findings.add_row("[green]ok[/]", "no problems found", "0", "")
    console.print(findings)

    if report["bots"]:
        bots = Table(title="Bot-like users")
        for col in ("user", "max events/min", "events", "mean events/min"):
            bots.add_column(col, justify="right" if col != "user" else "left")
        for b in report["bots"][:20]:
            bots.add_row(
                b["user_id"],
                str(b["max_events_per_minute"]),
                str(b["events"]),
                str(b["mean_events_per_minute"]),
            )
        console.print(bots)
    if report["shilling"]:
        sh = Table(title="Suspected shilling accounts")
        for col in ("user", "extreme ratings", "items", "direction", "window start"):
            sh.add_column(col)
        for s in report["shilling"][:20]:
            sh.add_row(
                s["user_id"],
                str(s["extreme_ratings_in_window"]),
                ", ".join(s["items"]),
                s["direction"],
                s["window_start"],
            )
        console.print(sh)
    groups = report.get("poisoning", {}).get("groups_detail", [])
    if groups:
        gt = Table(title="Coordinated fake-account groups")
        for col in ("target item", "accounts", "expected", "window start", "direction"):
            gt.add_column(col)
        for g in groups[:20]:
            gt.add_row(
                g["item_id"], str(g["members"]), f"{g['expected']:.2f}", g["window_start"], g["direction"]
            )
        console.print(gt)
    summary = report["summary"]
    console.print(f"{summary['error']} errors, {summary['warning']} warnings, {summary['info']} notes")
