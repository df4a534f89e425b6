"""Bottom-up reconciliation: item forecasts summed to categories and the shop total.

Means: the forecast of an aggregate is the sum of its items' forecasts (coherent by construction:
category sums add up to the total).

Intervals: summing the items' interval bounds would assume perfectly correlated errors and give
far too wide intervals. Instead each aggregate's interval comes from split-conformal calibration
on the rolling-origin errors *of the bottom-up sums themselves*: for every CV window the chosen
item models' forecasts are summed per category (and in total) and compared with the summed
actuals; the signed errors, scaled by the aggregate's seasonal-naive MAE, are pooled per level
("category", "total") and per horizon step exactly as for items (see
:func:`shopmind.forecast.models.calibrate`), so correlations between items are whatever the data
showed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.forecast.models import ForecastConfig, ForecastResult, apply_intervals, calibrate, scales_at
from shopmind.forecast.series import CATEGORY_PREFIX, TOTAL_ID, UNCATEGORISED

BOTTOM_UP = "BottomUp"


def _aggregate_ids(item_ids: pd.Series, category_of: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    cat = CATEGORY_PREFIX + item_ids.map(category_of).fillna(UNCATEGORISED)
    return cat, pd.Series(TOTAL_ID, index=item_ids.index)


def bottom_up(
    result: ForecastResult,
    history: pd.DataFrame,
    category_of: dict[str, str],
    *,
    config: ForecastConfig | None = None,
) -> pd.DataFrame:
    """Category and total forecasts ``unique_id, level, ds, step, model, mean, lo-L, hi-L``.

    ``history`` is the item long frame (``unique_id, ds, y``) the result was fitted on.
    """
    cfg = config or result.config
    fc = result.forecasts
    cat, tot = _aggregate_ids(fc["unique_id"], category_of)
    means = []
    for ids, level in ((cat, "category"), (tot, "total")):
        m = fc.assign(unique_id=ids).groupby(["unique_id", "ds"], as_index=False)["mean"].sum()
        means.append(m.assign(level=level))
    agg = pd.concat(means, ignore_index=True)
    agg["step"] = agg.groupby("unique_id").cumcount() + 1

    # aggregate histories (for the scales) and the bottom-up CV errors (for calibration)
    hcat, htot = _aggregate_ids(history["unique_id"], category_of)
    agg_hist = pd.concat(
        [
            history.assign(unique_id=hcat).groupby(["unique_id", "ds"], as_index=False)["y"].sum(),
            history.assign(unique_id=htot).groupby(["unique_id", "ds"], as_index=False)["y"].sum(),
        ],
        ignore_index=True,
    ).sort_values(["unique_id", "ds"], kind="stable")
    level_of = pd.Series(
        np.where(agg["unique_id"].drop_duplicates() == TOTAL_ID, "total", "category"),
        index=agg["unique_id"].drop_duplicates().to_numpy(),
    )
    cv = result.cv
    if not cv.empty:
        own = cv.merge(result.choice[["unique_id", "model"]], on=["unique_id", "model"])
        ccat, ctot = _aggregate_ids(own["unique_id"], category_of)
        parts = []
        for ids in (ccat, ctot):
            parts.append(
                own.assign(unique_id=ids)
                .groupby(["unique_id", "cutoff", "ds", "step"], as_index=False)[["y", "yhat"]]
                .sum()
            )
        agg_cv = pd.concat(parts, ignore_index=True).assign(model=BOTTOM_UP)
        cut_scales = scales_at(agg_hist, agg_cv[["unique_id", "cutoff"]], cfg.season_length)
        cal = calibrate(agg_cv, cut_scales, level_of, cfg)
    else:
        cal = calibrate(pd.DataFrame(), pd.DataFrame(), level_of, cfg)
    last = agg_hist.groupby("unique_id")["ds"].max().rename("cutoff").reset_index()
    sc = scales_at(agg_hist, last, cfg.season_length).set_index("unique_id")["scale_mae"]
    agg = agg.assign(
        model=BOTTOM_UP,
        group=agg["unique_id"].map(level_of),
        scale_mae=agg["unique_id"].map(sc),
    )
    out = apply_intervals(agg, cal, cfg, nonnegative=bool((history["y"] >= 0).all()))
    cols = ["unique_id", "level", "ds", "step", "model", "mean"] + [
        f"{s}-{lv}" for lv in cfg.levels for s in ("lo", "hi")
    ]
    return out[cols].reset_index(drop=True)
