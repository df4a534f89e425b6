"""Inventory advice from demand forecasts: safety stock, reorder point, order quantity, cover, risk.

Classical formulas (Silver, Pyke & Thomas, *Inventory and Production Management in Supply
Chains*, 4th ed., ch. 4 and 6), with σ taken from the forecast *errors* (rolling-origin CV of the
chosen model), not from demand variability, because the forecast is what the shop plans with:

* z = Φ⁻¹(service level)  (cycle service level: probability of no stock-out in a cycle);
* expected lead-time demand  μ_L = Σ_{k=1}^{L} ŷ_k  (forecast path over the lead time, L in periods;
  a fractional last period counts in proportion);
* safety stock  SS = z · σ_e · √L  (errors independent across periods, σ_e = per-period RMS error);
* reorder point  ROP = μ_L + SS;
* economic order quantity  EOQ = √(2 D S / H), D = annual demand (mean daily forecast × 365),
  S = cost per order, H = holding cost per unit and year = holding rate × unit price;
* periodic review every R periods: order-up-to level  OUT = Σ_{k=1}^{L+R} ŷ_k + z · σ_e · √(L+R);
* days of cover = stock / mean daily forecast (over the forecast horizon);
* status: ``stockout_risk`` when stock < ROP or cover < lead time; ``overstock`` when cover >
  ``overstock_days``; ``ok`` otherwise; ``unknown_stock`` when the shop does not track stock;
* the suggested order is a whole number of units: the formula's quantity rounded **up** to a
  multiple of the item's pack size (a supplier sells whole cases; the item attribute ``case_size``,
  ``pack_size`` or ``order_multiple``, else 1), so the order still covers the computed need.

Every number is returned with the inputs that produced it (an ``explain`` dict).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from shopmind.errors import ConfigError

PACK_SIZE_ATTRIBUTES = ("case_size", "pack_size", "order_multiple")
"""Item attributes read as the supplier's pack size, first found wins (a whole number >= 1)."""
MAX_PACK_SIZE = 1_000_000


@dataclass(frozen=True)
class InventoryPolicy:
    """Inputs of the inventory formulas (days are calendar days)."""

    service_level: float = 0.95
    lead_time_days: float = 7.0
    review_period_days: float = 0.0
    """0 = continuous review (reorder point + EOQ); > 0 = periodic review with an order-up-to level."""
    ordering_cost: float = 50.0
    holding_rate: float = 0.25
    """Yearly holding cost as a share of the unit price."""
    overstock_days: float = 90.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.service_level < 1.0:
            raise ConfigError(
                "service level out of range", value=self.service_level, expected="0.5 <= level < 1"
            )
        if self.lead_time_days <= 0:
            raise ConfigError("lead time must be positive", value=self.lead_time_days, expected="> 0 days")
        if self.review_period_days < 0:
            raise ConfigError(
                "review period must be >= 0", value=self.review_period_days, expected=">= 0 days"
            )
        if self.ordering_cost < 0 or self.holding_rate <= 0:
            raise ConfigError(
                "costs must be positive",
                value=(self.ordering_cost, self.holding_rate),
                expected="ordering_cost >= 0 and holding_rate > 0",
            )
        if self.overstock_days <= 0:
            raise ConfigError(
                "overstock threshold must be positive", value=self.overstock_days, expected="> 0 days"
            )


def z_value(service_level: float) -> float:
    """z = Φ⁻¹(service level), the standard normal quantile."""
    return float(norm.ppf(service_level))


def path_sum(path: np.ndarray, periods: float) -> float:
    """Σ of the first ``periods`` values of a forecast path; a fractional last period counts pro rata.

    Beyond the path's end the path's mean is repeated (a lead time longer than the horizon).
    """
    path = np.asarray(path, dtype=float)
    if periods <= 0 or path.size == 0:
        return 0.0
    whole = math.floor(periods)
    frac = periods - whole
    mean = float(path.mean())
    ext = np.concatenate([path, np.full(max(0, whole + 1 - path.size), mean)])
    return float(ext[:whole].sum() + frac * ext[whole])


def safety_stock(sigma: float, periods: float, z: float) -> float:
    """SS = z · σ_e · √L (L in periods, σ_e per period)."""
    return float(z * sigma * math.sqrt(max(periods, 0.0)))


def eoq(annual_demand: float, ordering_cost: float, holding_cost: float) -> float:
    """EOQ = √(2 D S / H) (Harris 1913)."""
    if holding_cost <= 0:
        raise ConfigError("holding cost must be positive", value=holding_cost, expected="> 0")
    return float(math.sqrt(2.0 * max(annual_demand, 0.0) * ordering_cost / holding_cost))


def pack_size_of(attributes: Any) -> int:
    """The supplier pack size in an item's attributes (:data:`PACK_SIZE_ATTRIBUTES`), else 1.

    Values that are not whole numbers in 1..MAX_PACK_SIZE are ignored (1): a bad attribute must not
    turn an order of 3 units into nothing or into a million.
    """
    if not isinstance(attributes, dict):
        return 1
    for name in PACK_SIZE_ATTRIBUTES:
        value = attributes.get(name)
        if value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number) and number == int(number) and 1 <= number <= MAX_PACK_SIZE:
            return int(number)
    return 1


def order_units(quantity: float, pack_size: int = 1) -> int:
    """``quantity`` rounded up to whole packs: ``ceil(q / pack) · pack`` (0 stays 0)."""
    if pack_size < 1:
        raise ConfigError("pack size must be >= 1", value=pack_size, expected="a whole number >= 1")
    if quantity <= 0 or not math.isfinite(quantity):
        return 0
    # a float like 12.000000001 from the formulas is 12 units, not 13
    return math.ceil(round(quantity / pack_size, 6)) * pack_size


def advise_item(
    *,
    item_id: str,
    forecast_path: np.ndarray,
    sigma: float,
    stock: float | None,
    price: float | None,
    policy: InventoryPolicy,
    period_days: float = 1.0,
    sigma_source: str = "cv",
    pack_size: int = 1,
) -> dict[str, Any]:
    """Advice for one item from its forecast path (units per period) and per-period error σ_e;
    ``suggested_order`` is whole units in multiples of ``pack_size``."""
    path = np.maximum(np.asarray(forecast_path, dtype=float), 0.0)
    z = z_value(policy.service_level)
    L = policy.lead_time_days / period_days
    R = policy.review_period_days / period_days
    mean_period = float(path.mean()) if path.size else 0.0
    mean_daily = mean_period / period_days
    lt_demand = path_sum(path, L)
    ss = safety_stock(sigma, L, z)
    rop = lt_demand + ss
    annual = mean_daily * 365.0
    holding = policy.holding_rate * price if price is not None and price > 0 else None
    q = eoq(annual, policy.ordering_cost, holding) if holding else None
    out_level = path_sum(path, L + R) + safety_stock(sigma, L + R, z) if R > 0 else None
    cover = (stock / mean_daily if mean_daily > 0 else math.inf) if stock is not None else None
    suggested: int | None
    need: float | None
    if stock is None:
        status = "unknown_stock"
        suggested = need = None
    else:
        if stock < rop or (cover is not None and cover < policy.lead_time_days):
            status = "stockout_risk"
        elif cover is not None and cover > policy.overstock_days:
            status = "overstock"
        else:
            status = "ok"
        if out_level is not None:
            need = max(0.0, out_level - stock)
        elif stock <= rop:
            # continuous review: order EOQ, at least enough to lift stock back above the ROP
            need = max(q or 0.0, rop - stock)
        else:
            need = 0.0
        suggested = order_units(need, pack_size)
    explain = {
        "policy": asdict(policy),
        "period_days": period_days,
        "z": {"formula": "Φ⁻¹(service_level)", "service_level": policy.service_level, "value": z},
        "lead_time_periods": L,
        "mean_daily_demand": {
            "formula": "mean(forecast path) / period_days",
            "horizon_periods": int(path.size),
            "value": mean_daily,
        },
        "sigma_e": {"value": sigma, "source": sigma_source, "per": "period"},
        "lead_time_demand": {"formula": "Σ forecast over the first L periods", "L": L, "value": lt_demand},
        "safety_stock": {"formula": "z·σ_e·√L", "z": z, "sigma_e": sigma, "L": L, "value": ss},
        "reorder_point": {
            "formula": "lead_time_demand + safety_stock",
            "lead_time_demand": lt_demand,
            "safety_stock": ss,
            "value": rop,
        },
        "eoq": {
            "formula": "√(2·D·S/H)",
            "D_annual": annual,
            "S_ordering_cost": policy.ordering_cost,
            "H_holding_cost": holding,
            "value": q,
            "note": None if q is not None else "no unit price: holding cost unknown",
        },
        "order_up_to": {
            "formula": "Σ forecast over L+R periods + z·σ_e·√(L+R)",
            "R": R,
            "value": out_level,
        },
        "days_of_cover": {"formula": "stock / mean_daily_demand", "stock": stock, "value": cover},
        "suggested_order": {
            "formula": "ceil(need / pack_size) · pack_size; need = order_up_to − stock (periodic) "
            "or max(EOQ, reorder_point − stock) when stock <= reorder_point (continuous)",
            "need": need,
            "pack_size": pack_size,
            "value": suggested,
        },
        "status": {
            "rule": "stockout_risk if stock < reorder_point or cover < lead time; "
            "overstock if cover > overstock_days",
            "value": status,
        },
    }
    return {
        "item_id": item_id,
        "stock": stock,
        "mean_daily_demand": mean_daily,
        "lead_time_demand": lt_demand,
        "safety_stock": ss,
        "reorder_point": rop,
        "eoq": q,
        "order_up_to": out_level,
        "suggested_order": suggested,
        "pack_size": pack_size,
        "days_of_cover": cover,
        "status": status,
        "explain": explain,
    }
