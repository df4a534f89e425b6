"""Catalogue and customers of the synthetic shop, plus the shared calendar.

Items get a leaf category, brand, price, latent quality and popularity (log-normal, so a few items
take most of the traffic as in real shops), attributes, stock and bilingual text. Customers get a
language, a join date, an activity level and latent tastes: three preferred leaf categories with
weights, a favourite brand per preferred category (Chinese-speaking customers lean to Chinese brands),
a price-percentile preference, a brand loyalty and possibly a "staple" consumable they re-buy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from shopmind.datasets.synthetic.config import ShopConfig
from shopmind.datasets.synthetic.vocab import BRANDS, LEAVES, PHONE_MODELS, Attr, Leaf

BRAND_NAMES: tuple[str, ...] = tuple(BRANDS)
BRAND_INDEX: dict[str, int] = {b: k for k, b in enumerate(BRAND_NAMES)}
N_LEAVES = len(LEAVES)
N_BRANDS = len(BRAND_NAMES)

ATTR_LABELS: dict[str, tuple[str, str]] = {
    "colour": ("colour", "颜色"),
    "size": ("size", "尺码"),
    "capacity": ("capacity", "容量"),
    "memory": ("memory", "内存"),
    "bluetooth": ("Bluetooth", "蓝牙"),
    "noise_cancelling": ("noise cancelling", "降噪"),
    "waterproof": ("waterproof", "防水"),
    "nfc": ("NFC", "NFC"),
    "gps": ("GPS", "GPS"),
    "hdr": ("HDR", "HDR"),
    "wifi": ("Wi-Fi", "WiFi"),
    "backlit": ("backlight", "背光"),
    "battery_hours": ("battery", "续航"),
    "battery_days": ("battery", "续航"),
    "battery_minutes": ("battery", "续航"),
    "battery_months": ("battery", "电池寿命"),
    "battery_mah": ("battery", "电池容量"),
    "material": ("material", "材质"),
    "compatible_model": ("fits", "适用机型"),
    "power": ("power", "功率"),
    "screen_size": ("screen", "屏幕尺寸"),
    "pressure_bar": ("pressure", "压力"),
    "pack": ("pack", "规格"),
    "intensity": ("intensity", "强度"),
    "diameter_cm": ("diameter", "直径"),
    "volume": ("volume", "容量"),
    "volume_ml": ("volume", "容量"),
    "spf": ("SPF", "防晒指数"),
    "thickness_mm": ("thickness", "厚度"),
    "persons": ("sleeps", "适用人数"),
    "weight": ("weight", "重量"),
    "pieces": ("pieces", "颗粒数"),
    "age_min": ("age", "适用年龄"),
}


# ---------------------------------------------------------------- calendar
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


@dataclass(frozen=True)
class Calendar:
    """Daily demand profile shared by sessions and sales.

    ``weight[d] = trend(d) · weekly(dow) · yearly(doy) · (1 + spike(d))`` with a 35 %/period linear trend,
    a weekly cycle peaking on Sunday, a winter peak and shopping festivals (Singles' Day 11.11, Black
    Friday–Cyber Monday, 6.18, mid-July, the Christmas run-up).
    """

    start: date
    days: int
    start_ts: int
    weight: np.ndarray
    cdf: np.ndarray
    dow: np.ndarray
    doy: np.ndarray
    festival: np.ndarray

    @classmethod
    def build(cls, config: ShopConfig) -> Calendar:
        start = config.start_date
        n = config.days
        dates = [start + timedelta(days=k) for k in range(n)]
        dow = np.array([d.weekday() for d in dates], dtype=np.int64)
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=np.int64)
        t = np.arange(n) / max(n - 1, 1)
        weekly = np.array([1.02, 0.97, 0.95, 0.97, 0.93, 1.08, 1.22])[dow]
        yearly = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 355) / 365.25)
        spike = np.zeros(n)
        index = {d: k for k, d in enumerate(dates)}
        for year in range(start.year, dates[-1].year + 1):
            bf = _nth_weekday(year, 11, 4, 4)  # 4th Friday of November
            marks = {
                date(year, 11, 11): 1.2,
                date(year, 11, 10): 0.3,
                date(year, 6, 18): 0.6,
                date(year, 7, 11): 0.4,
                bf: 0.9,
                bf + timedelta(days=1): 0.5,
                bf + timedelta(days=2): 0.4,
                bf + timedelta(days=3): 0.7,
            }
            for k in range(10, 23):
                marks[date(year, 12, k)] = marks.get(date(year, 12, k), 0.0) + 0.25
            for d, s in marks.items():
                if d in index:
                    spike[index[d]] += s
        weight = (1.0 + 0.35 * t) * weekly * yearly * (1.0 + spike)
        cdf = np.cumsum(weight)
        cdf /= cdf[-1]
        start_ts = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        return cls(start, n, start_ts, weight, cdf, dow, doy, spike > 0.35)

    @property
    def end_ts(self) -> int:
        return self.start_ts + self.days * 86_400

    def sample_days(self, rng: np.random.Generator, first_day: np.ndarray) -> np.ndarray:
        """One day per entry, ∝ ``weight``, restricted to days >= ``first_day`` (inverse CDF)."""
        lo = np.where(first_day > 0, self.cdf[np.maximum(first_day - 1, 0)], 0.0)
        u = lo + rng.random(len(first_day)) * (1.0 - lo)
        return np.minimum(np.searchsorted(self.cdf, u, side="left"), self.days - 1)

    def season(self, kind: str) -> np.ndarray:
        """Category seasonality multiplier per day."""
        if kind == "winter":
            return 1.0 + 0.8 * np.cos(2 * np.pi * (self.doy - 10) / 365.25)
        if kind == "summer":
            return 1.0 + 0.6 * np.cos(2 * np.pi * (self.doy - 190) / 365.25)
        if kind == "gift":
            return 1.0 + 0.5 * np.exp(-(((self.doy - 340) / 25.0) ** 2))
        return np.ones(self.days)


# ---------------------------------------------------------------- catalogue
@dataclass
class Catalog:
    ids: list[str]
    leaf: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    price_pct: np.ndarray
    popularity: np.ndarray
    quality: np.ndarray
    stock: np.ndarray
    language: list[str]
    title: list[str]
    description: list[str]
    attributes: list[dict]
    created_ts: np.ndarray
    # sampling structures: items sorted by (leaf, brand) with cumulative popularity
    order: np.ndarray
    cum: np.ndarray
    leaf_span: np.ndarray  # (n_leaves, 2) [start, end) in ``order``
    leaf_brand_span: np.ndarray  # (n_leaves, n_brands, 2)

    def __len__(self) -> int:
        return len(self.ids)

    def sample(self, rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Items ∝ popularity within sorted spans ``[start, end)`` (vectorised inverse CDF)."""
        base = np.where(start > 0, self.cum[np.maximum(start - 1, 0)], 0.0)
        total = self.cum[end - 1] - base
        target = base + rng.random(len(start)) * total
        pos = np.searchsorted(self.cum, target, side="right")
        pos = np.clip(pos, start, end - 1)
        return self.order[pos]


def _attr_value(attr: Attr, rng: np.random.Generator) -> tuple[object, str, str, int]:
    """(stored value, English display, Chinese display, rank of a categorical value)."""
    if attr.values is None:
        v = round(float(rng.uniform(attr.lo, attr.hi)))
        return v, f"{v} {attr.unit}".strip(), f"{v}{attr.unit}", 0
    if attr.values and isinstance(attr.values[0][0], bool):
        v = bool(rng.random() < attr.p_true)
        return v, "yes" if v else "no", "支持" if v else "不支持", 0
    k = int(rng.integers(len(attr.values)))
    val, en, zh = attr.values[k]
    return val, en, zh, k


def _model_code(leaf: Leaf, brand: str, rng: np.random.Generator) -> str:
    if leaf.path_en[-1] == "Smartphones":
        models = [m for m, b in PHONE_MODELS if b == brand]
        if models:
            return models[int(rng.integers(len(models)))]
    noun = leaf.nouns_en[0]
    letters = "".join(w[0] for w in noun.replace("-", " ").split())[:2].upper()
    return f"{letters}-{int(rng.integers(100, 1000))}"


def _texts(
    leaf: Leaf,
    brand: str,
    model: str,
    lang: str,
    shown: list[tuple[str, str, str]],
    specs,
    noun_k: int,
    cfg,
    edition: int = -1,
) -> tuple[str, str]:
    brand_zh = BRANDS[brand][0]
    noun_en = leaf.nouns_en[noun_k % len(leaf.nouns_en)]
    noun_zh = leaf.nouns_zh[noun_k % len(leaf.nouns_zh)]
    compat = next((en for key, en, _ in shown if key == "compatible_model"), None)
    rest = [(key, en, zh) for key, en, zh in shown if key != "compatible_model"]
    f_en = leaf.features_en[noun_k % len(leaf.features_en)] if leaf.features_en else "everyday reliability"
    f_zh = leaf.features_zh[noun_k % len(leaf.features_zh)] if leaf.features_zh else "品质可靠"
    if lang == "en":
        head = f"{brand} {noun_en} for {compat}" if compat else f"{brand} {model} {noun_en}"
        title = head + (", " + ", ".join(en for _, en, _ in rest) if rest else "")
        if edition >= 0:
            title += f" ({_edition(edition, 'en')})"
        spec = "; ".join(f"{ATTR_LABELS.get(k, (k, k))[0]}: {en}" for k, en, _ in specs)
        desc = (
            f"{title}. Featuring {f_en}. Specifications: {spec}. "
            f"Free shipping on orders over ${cfg.free_shipping_threshold:.0f} and {cfg.return_days}-day returns."
        )
        return title, desc
    if lang == "mixed":
        head = f"{brand} {compat} {noun_zh}" if compat else f"{brand} {model} {noun_zh}"
    else:
        head = f"{brand_zh} {compat} {noun_zh}" if compat else f"{brand_zh} {model} {noun_zh}"
    title = " ".join([head, *(zh for _, _, zh in rest)])
    if edition >= 0:
        title += f" {_edition(edition, 'zh')}"
    spec = "；".join(f"{ATTR_LABELS.get(k, (k, k))[1]}：{zh}" for k, _, zh in specs)
    desc = (
        f"{title}。{f_zh}。规格参数：{spec}。"
        f"订单满{cfg.free_shipping_threshold:.0f}美元包邮，支持{cfg.return_days}天无理由退货。"
    )
    return title, desc


def _edition(j: int, lang: str) -> str:
    """The ``j``-th edition label that tells apart listings whose title would otherwise repeat."""
    year = 2026 - j % 8
    lot = j // 8 + 1
    if lang == "en":
        return f"{year} Edition" + (f", Lot {lot}" if lot > 1 else "")
    return f"{year}款" + (f" 批次{lot}" if lot > 1 else "")


def _title_key(title: str, brand: str) -> str:
    """Title and brand as the data-quality report compares them (casefolded, whitespace collapsed)."""
    return " ".join(title.casefold().split()) + "\x00" + brand.casefold()


# Redraws of an item's attributes and model before its title is made unique with an edition label.
TITLE_REDRAWS = 8


def build_catalog(config: ShopConfig, calendar: Calendar) -> Catalog:
    rng = np.random.default_rng([config.seed, 1])
    n = config.n_items
    leaf_w = np.array([leaf.weight for leaf in LEAVES])
    # every leaf gets at least one item; the rest ∝ weight
    leaf = np.concatenate(
        [
            np.arange(min(n, N_LEAVES)),
            rng.choice(N_LEAVES, size=max(n - N_LEAVES, 0), p=leaf_w / leaf_w.sum()),
        ]
    )
    rng.shuffle(leaf)
    brand = np.empty(n, dtype=np.int64)
    # brand shares within a leaf follow a Dirichlet draw (some brands dominate a category)
    for k, spec in enumerate(LEAVES):
        idx = np.flatnonzero(leaf == k)
        share = rng.dirichlet(np.full(len(spec.brands), 1.5))
        picks = rng.choice(len(spec.brands), size=len(idx), p=share)
        brand[idx] = np.array([BRAND_INDEX[b] for b in spec.brands])[picks]
    brand_factor = np.array([BRANDS[b][2] for b in BRAND_NAMES])
    brand_quality = np.array([BRANDS[b][3] for b in BRAND_NAMES])
    quality = rng.normal(0.0, 0.8, n) + brand_quality[brand]
    popularity = rng.lognormal(0.0, 1.25, n) * leaf_w[leaf] * np.exp(0.25 * quality)
    lang_u = rng.random(n)
    zh_cut = config.zh_item_share
    mixed_cut = zh_cut + config.mixed_item_share
    languages = np.where(lang_u < zh_cut, "zh", np.where(lang_u < mixed_cut, "mixed", "en"))
    price = np.empty(n)
    titles: list[str] = []
    descs: list[str] = []
    attrs: list[dict] = []
    out_lang: list[str] = []
    noise = rng.lognormal(0.0, 0.35, n)
    noun_pick = rng.integers(0, 6, n)
    # Two listings with the same title and brand read as duplicates (the data-quality report flags
    # them): a clashing item redraws its attributes and model a few times, and if the leaf's
    # combinations are exhausted (phones: few models × capacities × colours) gets an edition label.
    seen: set[str] = set()
    for i in range(n):
        spec = LEAVES[leaf[i]]
        bname = BRAND_NAMES[brand[i]]
        lang = str(languages[i])
        for _attempt in range(TITLE_REDRAWS + 1):
            values: dict[str, object] = {}
            shown: list[tuple[str, str, str]] = []
            specs: list[tuple[str, str, str]] = []
            cap_rank = 0
            for attr in spec.attrs:
                v, en, zh, rank = _attr_value(attr, rng)
                values[attr.key] = v
                specs.append((attr.key, en, zh))
                if attr.in_title:
                    shown.append((attr.key, en, zh))
                if attr.key in {"capacity", "screen_size", "memory", "persons", "pieces", "power", "weight"}:
                    cap_rank += rank
            model = _model_code(spec, bname, rng)
            title, desc = _texts(spec, bname, model, lang, shown, specs, int(noun_pick[i]), config)
            if _title_key(title, bname) not in seen:
                break
        edition = 0
        while _title_key(title, bname) in seen:
            title, desc = _texts(spec, bname, model, lang, shown, specs, int(noun_pick[i]), config, edition)
            edition += 1
        seen.add(_title_key(title, bname))
        values["model"] = model
        p = spec.price * brand_factor[brand[i]] * noise[i] * (1.0 + 0.3 * cap_rank)
        price[i] = max(round(p), 2) - 0.01
        titles.append(title)
        descs.append(desc)
        attrs.append(values)
        out_lang.append("en" if lang == "en" else "zh")
    # price percentile within the leaf: what "budget" and "premium" mean is relative to the category
    price_pct = np.empty(n)
    for k in range(N_LEAVES):
        idx = np.flatnonzero(leaf == k)
        if len(idx):
            price_pct[idx] = (np.argsort(np.argsort(price[idx])) + 0.5) / len(idx)
    # a first draw before any demand is simulated: its zeros are the out-of-stock items; the written
    # levels come from generate.stock_levels (demand-proportional). Drawn here to keep the RNG stream.
    stock = rng.negative_binomial(2, 2.0 / (2.0 + 5.0 + 60.0 * popularity / popularity.max()), n) + 1
    stock[rng.random(n) < config.out_of_stock_share] = 0
    # catalogue built before the simulated period (up to 3 years earlier)
    created_ts = calendar.start_ts - rng.integers(1, 3 * 365, n) * 86_400 - rng.integers(0, 86_400, n)
    order = np.lexsort((brand, leaf))
    cum = np.cumsum(popularity[order])
    sorted_leaf = leaf[order]
    sorted_key = sorted_leaf * N_BRANDS + brand[order]
    leaf_span = np.stack(
        [
            np.searchsorted(sorted_leaf, np.arange(N_LEAVES)),
            np.searchsorted(sorted_leaf, np.arange(N_LEAVES), "right"),
        ],
        axis=1,
    )
    keys = np.arange(N_LEAVES * N_BRANDS)
    lb = np.stack([np.searchsorted(sorted_key, keys), np.searchsorted(sorted_key, keys, "right")], axis=1)
    width = len(str(n))
    return Catalog(
        ids=[f"SKU{str(i + 1).zfill(max(width, 5))}" for i in range(n)],
        leaf=leaf,
        brand=brand,
        price=price,
        price_pct=price_pct,
        popularity=popularity,
        quality=quality,
        stock=stock.astype(np.int64),
        language=out_lang,
        title=titles,
        description=descs,
        attributes=attrs,
        created_ts=created_ts.astype(np.int64),
        order=order,
        cum=cum,
        leaf_span=leaf_span,
        leaf_brand_span=lb.reshape(N_LEAVES, N_BRANDS, 2),
    )


# ---------------------------------------------------------------- customers
@dataclass
class Users:
    ids: list[str]
    lang: np.ndarray  # "en" | "zh"
    join_day: np.ndarray  # first active day index (0 = start of the period)
    created_ts: np.ndarray
    activity: np.ndarray  # expected sessions
    pref_leaf: np.ndarray  # (n, 3)
    pref_w: np.ndarray  # (n, 3)
    fav_brand: np.ndarray  # (n, 3) brand index per preferred leaf
    price_pref: np.ndarray
    loyalty: np.ndarray
    staple: np.ndarray  # item index or -1
    rating_bias: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def build_users(config: ShopConfig, calendar: Calendar, catalog: Catalog, sessions_per_user: float) -> Users:
    rng = np.random.default_rng([config.seed, 2])
    n = config.n_users
    lang = np.where(rng.random(n) < config.zh_user_share, "zh", "en")
    early = rng.random(n) < 0.35
    # later sign-ups grow with the shop: join day density rises linearly over the period
    join_day = np.where(early, 0, (np.sqrt(rng.random(n)) * (calendar.days - 14)).astype(np.int64))
    created_ts = np.where(
        early,
        calendar.start_ts - rng.integers(1, 2 * 365, n) * 86_400,
        calendar.start_ts + join_day * 86_400,
    ) + rng.integers(0, 86_400, n)
    active_share = (calendar.days - join_day) / calendar.days
    activity = rng.lognormal(0.0, 0.9, n)
    activity = activity / activity.mean() * sessions_per_user * active_share / active_share.mean()
    leaf_w = np.array([leaf.weight for leaf in LEAVES])
    # three distinct preferred leaves per user ∝ leaf weight (Gumbel top-k)
    # (in blocks: an n × leaves matrix for 1M customers would dominate peak memory)
    pref_leaf = np.empty((n, 3), dtype=np.int64)
    for b0 in range(0, n, 100_000):
        m = min(n, b0 + 100_000) - b0
        g = np.log(leaf_w)[None, :] - np.log(-np.log(rng.random((m, N_LEAVES))))
        pref_leaf[b0 : b0 + m] = np.argpartition(-g, 3, axis=1)[:, :3]
        # argpartition leaves the top 3 unordered: order them by their Gumbel score
        top = np.take_along_axis(g, pref_leaf[b0 : b0 + m], axis=1)
        pref_leaf[b0 : b0 + m] = np.take_along_axis(pref_leaf[b0 : b0 + m], np.argsort(-top, axis=1), axis=1)
    pref_w = np.sort(rng.dirichlet([5.0, 2.5, 1.2], n), axis=1)[:, ::-1]
    home = np.array([BRANDS[b][1] for b in BRAND_NAMES])
    fav_brand = np.empty((n, 3), dtype=np.int64)
    is_zh = lang == "zh"
    for k, spec in enumerate(LEAVES):
        bidx = np.array([BRAND_INDEX[b] for b in spec.brands])
        # brand appeal: catalogue presence (popularity mass) × home-market affinity of the customer
        mass = np.array(
            [
                catalog.cum[max(e - 1, 0)] - (catalog.cum[s - 1] if s > 0 else 0.0) if e > s else 0.0
                for s, e in catalog.leaf_brand_span[k, bidx]
            ]
        )
        mass = mass + 1e-9
        for zh in (False, True):
            boost = np.where(home[bidx] == ("cn" if zh else "west"), 2.5, 1.0)
            p = mass * boost
            p = p / p.sum()
            for slot in range(3):
                rows = np.flatnonzero((pref_leaf[:, slot] == k) & (is_zh == zh))
                if len(rows):
                    fav_brand[rows, slot] = bidx[rng.choice(len(bidx), size=len(rows), p=p)]
    price_pref = rng.beta(2.0, 2.0, n)
    loyalty = rng.beta(2.0, 3.0, n)
    consumable = np.array([leaf.consumable for leaf in LEAVES])
    staple = np.full(n, -1, dtype=np.int64)
    has_cons = consumable[pref_leaf]
    first_slot = np.argmax(has_cons, axis=1)
    with_staple = has_cons.any(axis=1) | (rng.random(n) < 0.3)
    cons_leaves = np.flatnonzero(consumable)
    leaf_for = np.where(has_cons.any(axis=1), pref_leaf[np.arange(n), first_slot], rng.choice(cons_leaves, n))
    brand_for = np.where(has_cons.any(axis=1), fav_brand[np.arange(n), first_slot], -1)
    rows = np.flatnonzero(with_staple)
    if len(rows):
        spans = catalog.leaf_span[leaf_for[rows]]
        lb = catalog.leaf_brand_span[leaf_for[rows], np.maximum(brand_for[rows], 0)]
        use_brand = (brand_for[rows] >= 0) & (lb[:, 1] > lb[:, 0])
        start = np.where(use_brand, lb[:, 0], spans[:, 0])
        end = np.where(use_brand, lb[:, 1], spans[:, 1])
        ok = end > start
        staple[rows[ok]] = catalog.sample(rng, start[ok], end[ok])
    width = len(str(n))
    return Users(
        ids=[f"U{str(i + 1).zfill(max(width, 5))}" for i in range(n)],
        lang=lang,
        join_day=join_day,
        created_ts=created_ts.astype(np.int64),
        activity=activity,
        pref_leaf=pref_leaf,
        pref_w=pref_w,
        fav_brand=fav_brand,
        price_pref=price_pref,
        loyalty=loyalty,
        staple=staple,
        rating_bias=rng.normal(0.0, 0.4, n),
    )
