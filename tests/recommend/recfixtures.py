"""Tiny known-answer fixtures shared by the recommender tests.

The block dataset: 12 users × 10 items in two groups. Users 0–5 ("sport") interact with items
0–4, users 6–11 ("kitchen") with items 5–9; user ``u`` misses exactly one item of their group
(item ``u % 5`` of the group), so the right top-1 recommendation is exact. Item texts, brands and
categories follow the groups (content models see the same structure). Item 10 is a new "sport"
item nobody touched (content cold start).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_USERS, GROUP = 12, 5
DAY = 86_400


def block_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    t = 1_700_000_000
    for u in range(N_USERS):
        group = 0 if u < N_USERS // 2 else 1
        for j in range(GROUP):
            if j == u % GROUP:
                continue
            item = group * GROUP + j
            kind = "purchase" if (u + j) % 3 == 0 else "view"
            rows.append((f"u{u}", f"i{item}", kind, t))
            t += DAY // 4
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "type", "timestamp"])
    items = []
    for i in range(2 * GROUP + 1):
        sport = i < GROUP or i == 2 * GROUP
        items.append(
            {
                "id": f"i{i}",
                "title": f"{'running shoe trail' if sport else 'coffee mug ceramic'} model {i}",
                "description": "light sport gear for runners" if sport else "kitchen mug for hot drinks",
                "category": ["Sport", "Running"] if sport else ["Home", "Kitchen"],
                "brand": "Swift" if sport else "Potter",
                "price": 10.0 + i,
                "stock": 0 if i in (3, 8) else 5,
                "attributes": {"colour": "red" if sport else "white"},
            }
        )
    return events, pd.DataFrame(items)


def missing_item(u: int) -> int:
    """The one item of user ``u``'s group they have not seen (the exact right answer)."""
    group = 0 if u < N_USERS // 2 else 1
    return group * GROUP + u % GROUP


def group_items(group: int) -> np.ndarray:
    return np.arange(group * GROUP, (group + 1) * GROUP)


def late_item_frame() -> pd.DataFrame:
    """u0 and u1 are active on day 0 only; item c is first rated on day 60, by u2–u4 (who also rate a
    and b then), so c co-occurs with u0's items a and b and would be u0's best candidate without an
    availability mask; d is rated on day 0 by u1 only."""
    rows = [("u0", "a", 0), ("u0", "b", 0), ("u1", "a", 0), ("u1", "d", 0), ("u1", "b", 0)]
    rows += [(u, i, 60) for u in ("u2", "u3", "u4") for i in ("a", "b", "c")]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = 1_000_000 + df.pop("day") * DAY
    df["rating"] = 5.0
    return df
