"""Retail sales series as long frames ``unique_id, ds, y`` (the Nixtla/statsforecast layout).

* Walmart weekly department sales (Kaggle *Walmart Recruiting*, via timetk): ``id, Date,
  Weekly_Sales, IsHoliday, MarkDown1..5, …``; covariates kept as extra columns (``is_holiday``,
  ``markdown`` = sum of the five markdowns, 0 where absent).
* Australian retail turnover (ABS 8501.0 table 11, via tsibbledata): ``State, Industry, Series ID,
  Month (YYYY-MM), Turnover``; ``unique_id`` is the ABS series id, ``state``/``industry`` kept.
* US monthly retail sales (Prophet example): ``ds, y``; one series ``us_retail``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from shopmind.data.schema import SalesPoint
from shopmind.datasets._io import bad_line, check_numeric, read_table, require_columns, resolve
from shopmind.errors import DataError

SALES_COLUMNS = ("unique_id", "ds", "y")


def _dates(frame: pd.DataFrame, col: str, file: Path, fmt: str) -> pd.Series:
    ds = pd.to_datetime(frame[col], format=fmt, errors="coerce")
    if ds.isna().any():
        pos = int(ds.isna().to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 2, "bad date", frame[col].iloc[pos], fmt, col)
    return ds


def _sorted(out: pd.DataFrame, file: Path) -> pd.DataFrame:
    dup = out.duplicated(["unique_id", "ds"])
    if dup.any():
        pos = int(dup.to_numpy().nonzero()[0][0])
        raise bad_line(
            file,
            pos + 2,
            "duplicate (series, date)",
            out.iloc[pos][["unique_id", "ds"]].tolist(),
            "one value per series and date",
        )
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def load_walmart_weekly(path: str | Path) -> pd.DataFrame:
    """Weekly sales: ``unique_id`` (``store_dept``), ``ds``, ``y`` + ``is_holiday``, ``markdown``."""
    file = resolve(path, ("walmart_sales_weekly.csv",), "Walmart weekly sales")
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, ("id", "Date", "Weekly_Sales", "IsHoliday"), file)
    y = check_numeric(frame, "Weekly_Sales", file)
    hol = frame["IsHoliday"].str.strip().str.lower()
    bad = ~hol.isin(["true", "false"])
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 2, "bad flag", frame["IsHoliday"].iloc[pos], "True or False", "IsHoliday")
    md_cols = [c for c in frame.columns if c.startswith("MarkDown")]
    markdown = sum(
        (pd.to_numeric(frame[c], errors="coerce").fillna(0.0) for c in md_cols),
        pd.Series(0.0, index=frame.index),
    )
    out = pd.DataFrame(
        {
            "unique_id": frame["id"].str.strip(),
            "ds": _dates(frame, "Date", file, "%Y-%m-%d"),
            "y": y,
            "is_holiday": hol == "true",
            "markdown": markdown,
        }
    )
    return _sorted(out, file)


def load_aus_retail(path: str | Path) -> pd.DataFrame:
    """Monthly turnover: ``unique_id`` (ABS series id), ``ds`` (month start), ``y`` + state, industry."""
    file = resolve(path, ("aus_retail.csv.gz", "aus_retail.csv"), "Australian retail turnover")
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, ("State", "Industry", "Series ID", "Month", "Turnover"), file)
    out = pd.DataFrame(
        {
            "unique_id": frame["Series ID"].str.strip(),
            "ds": _dates(frame, "Month", file, "%Y-%m"),
            "y": check_numeric(frame, "Turnover", file),
            "state": frame["State"],
            "industry": frame["Industry"],
        }
    )
    return _sorted(out, file)


def load_us_retail(path: str | Path) -> pd.DataFrame:
    """The single monthly series as ``unique_id`` (= ``us_retail``), ``ds``, ``y``."""
    file = resolve(path, ("example_retail_sales.csv",), "US retail sales")
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, ("ds", "y"), file)
    out = pd.DataFrame(
        {
            "unique_id": "us_retail",
            "ds": _dates(frame, "ds", file, "%Y-%m-%d"),
            "y": check_numeric(frame, "y", file),
        }
    )
    return _sorted(out, file)


def to_sales_points(
    frame: pd.DataFrame, *, promo: str | None = None, price: str | None = None
) -> list[SalesPoint]:
    """Long frame → :class:`SalesPoint` records (``item_id`` = ``unique_id``, ``units`` = ``y``).

    ``promo``/``price`` name optional covariate columns (e.g. ``promo="is_holiday"`` is *not* a promotion;
    pass a real promotion flag). Negative values raise: SalesPoint units are counts."""
    require = set(SALES_COLUMNS) - set(frame.columns)
    if require:
        raise DataError("sales frame lacks columns", value=sorted(require), expected="unique_id, ds, y")
    neg = frame["y"] < 0
    if neg.any():
        raise DataError(
            "negative sales cannot be SalesPoint units",
            value=frame.loc[neg, "y"].head(3).tolist(),
            expected="y >= 0",
        )
    promos = frame[promo].astype(bool) if promo else pd.Series(False, index=frame.index)
    prices = frame[price] if price else pd.Series(None, index=frame.index, dtype=object)
    return [
        SalesPoint(
            item_id=str(u),
            date=pd.Timestamp(d).date(),
            units=float(y),
            promo=bool(p),
            price=None if pr is None or pd.isna(pr) else float(pr),
        )
        for u, d, y, p, pr in zip(frame["unique_id"], frame["ds"], frame["y"], promos, prices, strict=True)
    ]
