"""Demand forecasting and inventory advice.

* :mod:`~shopmind.forecast.series` — store sales/orders → regular per-item demand series;
* :mod:`~shopmind.forecast.models` — classification, rolling-origin model choice, conformal intervals;
* :mod:`~shopmind.forecast.reconcile` — bottom-up category and total forecasts;
* :mod:`~shopmind.forecast.inventory` — safety stock, reorder point, EOQ, cover, risk;
* :mod:`~shopmind.forecast.service` — training component and ``ForecastService``.

The rolling-origin backtest (evaluation) is :mod:`shopmind.evaluate.forecast`. statsforecast is
imported lazily (inside functions), so importing this package is cheap.
"""

from shopmind.forecast.inventory import InventoryPolicy, advise_item
from shopmind.forecast.models import AutoForecaster, ForecastConfig, ForecastResult, classify_demand
from shopmind.forecast.series import DemandSeries, build_series, series_from_store

__all__ = [
    "AutoForecaster",
    "DemandSeries",
    "ForecastConfig",
    "ForecastResult",
    "InventoryPolicy",
    "advise_item",
    "build_series",
    "classify_demand",
    "series_from_store",
]
