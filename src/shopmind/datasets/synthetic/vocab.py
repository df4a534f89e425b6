"""Bilingual vocabulary of the synthetic shop: category tree, brands, attributes, phrases.

Everything here is static data; randomness lives in the generator modules. Each leaf category names
its English and Chinese path and product nouns, a median price, the attributes its products carry,
its brands, whether it is a consumable (bought again), a complement leaf (bought together), the
review aspects buyers talk about and a yearly seasonality profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# ---------------------------------------------------------------- brands
# name_en -> (name_zh, home market ("global" | "cn" | "west"), price factor, quality shift)
BRANDS: dict[str, tuple[str, str, float, float]] = {
    "Apple": ("苹果", "west", 1.45, 0.4),
    "Samsung": ("三星", "global", 1.15, 0.2),
    "Huawei": ("华为", "cn", 1.1, 0.3),
    "Xiaomi": ("小米", "cn", 0.7, 0.1),
    "OPPO": ("OPPO", "cn", 0.85, 0.0),
    "vivo": ("vivo", "cn", 0.85, 0.0),
    "Sony": ("索尼", "global", 1.25, 0.3),
    "Bose": ("博士", "west", 1.35, 0.3),
    "Sennheiser": ("森海塞尔", "west", 1.3, 0.3),
    "JBL": ("JBL", "global", 0.95, 0.1),
    "Edifier": ("漫步者", "cn", 0.6, -0.1),
    "Anker": ("安克", "global", 0.75, 0.2),
    "Baseus": ("倍思", "cn", 0.55, -0.1),
    "Belkin": ("贝尔金", "west", 1.0, 0.1),
    "Spigen": ("Spigen", "global", 0.9, 0.2),
    "Lenovo": ("联想", "cn", 0.95, 0.0),
    "Dell": ("戴尔", "west", 1.05, 0.1),
    "HP": ("惠普", "west", 1.0, 0.0),
    "ASUS": ("华硕", "global", 1.0, 0.1),
    "Kingston": ("金士顿", "global", 0.8, 0.0),
    "Crucial": ("英睿达", "west", 0.85, 0.1),
    "WD": ("西部数据", "west", 0.95, 0.1),
    "Logitech": ("罗技", "global", 0.9, 0.2),
    "Razer": ("雷蛇", "global", 1.3, 0.1),
    "Microsoft": ("微软", "west", 1.1, 0.1),
    "Garmin": ("佳明", "west", 1.3, 0.3),
    "TCL": ("TCL", "cn", 0.7, -0.1),
    "Hisense": ("海信", "cn", 0.75, 0.0),
    "LG": ("LG", "global", 1.05, 0.1),
    "DeLonghi": ("德龙", "west", 1.2, 0.2),
    "Philips": ("飞利浦", "global", 1.0, 0.1),
    "Nespresso": ("奈斯派索", "west", 1.2, 0.2),
    "Starbucks": ("星巴克", "west", 1.1, 0.0),
    "Lavazza": ("乐维萨", "west", 1.0, 0.1),
    "Tefal": ("特福", "west", 0.9, 0.0),
    "Supor": ("苏泊尔", "cn", 0.7, 0.0),
    "Zwilling": ("双立人", "west", 1.4, 0.3),
    "Midea": ("美的", "cn", 0.7, 0.0),
    "Panasonic": ("松下", "global", 1.1, 0.2),
    "Dyson": ("戴森", "west", 1.8, 0.3),
    "Zara": ("Zara", "west", 1.0, -0.1),
    "Uniqlo": ("优衣库", "global", 0.8, 0.1),
    "H&M": ("H&M", "west", 0.7, -0.2),
    "Mango": ("Mango", "west", 1.0, 0.0),
    "Nike": ("耐克", "west", 1.2, 0.2),
    "Adidas": ("阿迪达斯", "west", 1.15, 0.2),
    "Li-Ning": ("李宁", "cn", 0.8, 0.0),
    "Anta": ("安踏", "cn", 0.7, -0.1),
    "ASICS": ("亚瑟士", "global", 1.1, 0.2),
    "The North Face": ("北面", "west", 1.4, 0.2),
    "Bosideng": ("波司登", "cn", 1.0, 0.1),
    "Samsonite": ("新秀丽", "west", 1.3, 0.1),
    "L'Oreal": ("欧莱雅", "west", 0.9, 0.0),
    "Estee Lauder": ("雅诗兰黛", "west", 1.6, 0.2),
    "Shiseido": ("资生堂", "global", 1.4, 0.2),
    "Lancome": ("兰蔻", "west", 1.6, 0.2),
    "Pechoin": ("百雀羚", "cn", 0.5, 0.0),
    "Anessa": ("安热沙", "global", 1.1, 0.2),
    "Neutrogena": ("露得清", "west", 0.7, 0.0),
    "MAC": ("魅可", "west", 1.2, 0.1),
    "Perfect Diary": ("完美日记", "cn", 0.5, -0.1),
    "Oral-B": ("欧乐B", "west", 0.9, 0.1),
    "Decathlon": ("迪卡侬", "west", 0.6, 0.0),
    "Keep": ("Keep", "cn", 0.6, -0.1),
    "Naturehike": ("挪客", "cn", 0.6, 0.0),
    "Coleman": ("科勒曼", "west", 1.0, 0.1),
    "Royal Canin": ("皇家", "west", 1.2, 0.2),
    "Purina": ("普瑞纳", "west", 0.9, 0.0),
    "Pedigree": ("宝路", "west", 0.7, -0.1),
    "Ever Clean": ("Ever Clean", "west", 1.0, 0.1),
    "LEGO": ("乐高", "west", 1.3, 0.4),
    "Keeppley": ("奇妙积木", "cn", 0.5, -0.1),
}

# ---------------------------------------------------------------- attribute values
# A value is (canonical value stored in attributes, English display, Chinese display).
COLOURS = [
    ("Black", "Black", "黑色"),
    ("White", "White", "白色"),
    ("Silver", "Silver", "银色"),
    ("Blue", "Blue", "蓝色"),
    ("Red", "Red", "红色"),
    ("Pink", "Pink", "粉色"),
    ("Green", "Green", "绿色"),
    ("Grey", "Grey", "灰色"),
    ("Gold", "Gold", "金色"),
]
CLEAR = [("Clear", "Clear", "透明"), *COLOURS[:6]]
CLOTH_COLOURS = [
    *COLOURS[:2],
    COLOURS[3],
    COLOURS[4],
    COLOURS[7],
    ("Beige", "Beige", "米色"),
    ("Navy", "Navy", "藏青色"),
]
SIZES = [(s, s, s) for s in ("XS", "S", "M", "L", "XL", "XXL")]
SHOE_SIZES = [(str(s), f"EU {s}", f"{s}码") for s in range(36, 46)]
PHONE_CAP = [(c, c, c) for c in ("128GB", "256GB", "512GB", "1TB")]
SSD_CAP = [(c, c, c) for c in ("256GB", "512GB", "1TB", "2TB", "4TB")]
LAPTOP_CAP = [(c, c, c) for c in ("256GB", "512GB", "1TB")]
MEMORY = [(c, c, c) for c in ("8GB", "16GB", "32GB")]
SCREEN = [(f'{s}"', f'{s}"', f"{s}英寸") for s in (43, 50, 55, 65, 75, 85)]
WATTS = [(w, w, w) for w in ("20W", "30W", "45W", "65W", "100W")]
PHONE_MODELS = [
    ("iPhone 15", "Apple"),
    ("iPhone 15 Pro", "Apple"),
    ("iPhone 16", "Apple"),
    ("Galaxy S24", "Samsung"),
    ("Galaxy A55", "Samsung"),
    ("Mate 60", "Huawei"),
    ("P70", "Huawei"),
    ("Redmi Note 13", "Xiaomi"),
    ("Xiaomi 14", "Xiaomi"),
    ("Reno 11", "OPPO"),
]
COMPAT = [(m, m, m) for m, _ in PHONE_MODELS]
MATERIAL_CASE = [("Silicone", "Silicone", "硅胶"), ("TPU", "TPU", "TPU"), ("Leather", "Leather", "皮革")]
MATERIAL_CLOTH = [
    ("Cotton", "Cotton", "纯棉"),
    ("Linen", "Linen", "亚麻"),
    ("Polyester", "Polyester", "涤纶"),
    ("Silk", "Silk", "真丝"),
]
MATERIAL_PAN = [
    ("Stainless steel", "Stainless Steel", "不锈钢"),
    ("Cast iron", "Cast Iron", "铸铁"),
    ("Non-stick", "Non-Stick", "不粘"),
]
MATERIAL_BAG = [
    ("Nylon", "Nylon", "尼龙"),
    ("Polyester", "Polyester", "涤纶"),
    ("Leather", "Leather", "皮革"),
]
WEIGHT_FOOD = [(w, w, w) for w in ("1.5kg", "3kg", "7kg", "10kg")]
VOLUME_L = [(v, v, v) for v in ("3L", "4L", "5L")]
BAG_L = [(v, v, v) for v in ("20L", "25L", "30L", "35L")]
SPF = [(v, v, v) for v in ("SPF30", "SPF50", "SPF50+")]
PACK = [(v, v, v) for v in ("10 pcs", "20 pcs", "50 pcs")]
PERSONS = [(v, f"{v}-Person", f"{v}人") for v in ("1", "2", "3", "4")]
PIECES = [(v, f"{v} pcs", f"{v}颗粒") for v in ("300", "500", "1000", "2000")]

YES_NO = [(True, "", ""), (False, "", "")]


@dataclass(frozen=True)
class Attr:
    """One attribute of a leaf: a categorical ``values`` list, or a numeric ``(lo, hi)`` range."""

    key: str
    values: Sequence[tuple[object, str, str]] | None = None
    lo: float = 0.0
    hi: float = 0.0
    unit: str = ""
    in_title: bool = False
    p_true: float = 0.5  # for boolean attributes


@dataclass(frozen=True)
class Leaf:
    path_en: tuple[str, ...]
    path_zh: tuple[str, ...]
    nouns_en: tuple[str, ...]
    nouns_zh: tuple[str, ...]
    price: float
    brands: tuple[str, ...]
    attrs: tuple[Attr, ...]
    aspects: tuple[str, ...]
    weight: float = 1.0
    consumable: bool = False
    complement: str | None = None  # last English path element of the complement leaf
    season: str = "none"  # none | winter | summer | gift
    features_en: tuple[str, ...] = field(default=())
    features_zh: tuple[str, ...] = field(default=())


def _c(key: str, values, in_title: bool = False) -> Attr:
    return Attr(key=key, values=values, in_title=in_title)


def _n(key: str, lo: float, hi: float, unit: str) -> Attr:
    return Attr(key=key, lo=lo, hi=hi, unit=unit)


def _b(key: str, p: float = 0.5) -> Attr:
    return Attr(key=key, values=YES_NO, p_true=p)


LEAVES: tuple[Leaf, ...] = (
    Leaf(
        ("Electronics", "Audio", "Headphones"),
        ("电子产品", "影音", "耳机"),
        ("Wireless Headphones", "Over-Ear Headphones", "Noise Cancelling Headphones"),
        ("无线头戴式耳机", "头戴式耳机", "降噪耳机"),
        150,
        ("Sony", "Bose", "Sennheiser", "Apple", "JBL", "Huawei", "Xiaomi", "Edifier"),
        (
            _c("colour", COLOURS[:4], True),
            _b("bluetooth", 0.85),
            _b("noise_cancelling", 0.6),
            _n("battery_hours", 15, 60, "h"),
        ),
        ("sound", "battery", "comfort", "delivery"),
        1.6,
        features_en=("deep bass and clear highs", "all-day comfort", "active noise cancelling"),
        features_zh=("低音浑厚，高音清晰", "佩戴舒适", "主动降噪"),
    ),
    Leaf(
        ("Electronics", "Audio", "Earbuds"),
        ("电子产品", "影音", "耳塞"),
        ("True Wireless Earbuds", "Wireless Earbuds"),
        ("真无线耳塞", "入耳式耳塞"),
        90,
        ("Apple", "Samsung", "Sony", "Huawei", "Xiaomi", "Edifier", "Anker", "JBL"),
        (_c("colour", COLOURS[:3], True), _b("bluetooth", 1.0), _n("battery_hours", 5, 30, "h")),
        ("sound", "battery", "fit", "delivery"),
        1.8,
        features_en=("a pocket-sized charging case", "stable Bluetooth 5.3"),
        features_zh=("小巧充电盒", "蓝牙5.3连接稳定"),
    ),
    Leaf(
        ("Electronics", "Audio", "Speakers"),
        ("电子产品", "影音", "音箱"),
        ("Bluetooth Speaker", "Portable Speaker"),
        ("蓝牙音箱", "便携音箱"),
        80,
        ("JBL", "Sony", "Bose", "Xiaomi", "Edifier", "Anker"),
        (
            _c("colour", COLOURS[:5], True),
            _b("bluetooth", 1.0),
            _b("waterproof", 0.6),
            _n("battery_hours", 8, 24, "h"),
        ),
        ("sound", "battery", "quality", "delivery"),
        1.0,
        season="summer",
        features_en=("room-filling sound", "IPX7 water resistance"),
        features_zh=("音质饱满", "IPX7防水"),
    ),
    Leaf(
        ("Electronics", "Phones", "Smartphones"),
        ("电子产品", "手机", "智能手机"),
        ("Smartphone", "5G Smartphone"),
        ("智能手机", "5G手机"),
        650,
        ("Apple", "Samsung", "Huawei", "Xiaomi", "OPPO", "vivo"),
        (
            _c("capacity", PHONE_CAP, True),
            _c("colour", COLOURS[:4] + COLOURS[8:], True),
            _n("battery_mah", 3500, 5500, "mAh"),
            _b("nfc", 0.8),
        ),
        ("battery", "screen", "camera", "delivery"),
        1.4,
        complement="Phone Cases",
        season="gift",
        features_en=("a bright OLED display", "a pro-grade triple camera"),
        features_zh=("OLED高亮屏幕", "专业级三摄"),
    ),
    Leaf(
        ("Electronics", "Phones", "Phone Cases"),
        ("电子产品", "手机", "手机壳"),
        ("Phone Case", "Protective Case"),
        ("手机壳", "保护壳"),
        18,
        ("Spigen", "Apple", "Samsung", "Baseus", "Belkin", "Huawei", "Xiaomi"),
        (_c("compatible_model", COMPAT, True), _c("material", MATERIAL_CASE), _c("colour", CLEAR, True)),
        ("quality", "fit", "delivery", "price"),
        1.5,
        consumable=True,
        complement="Chargers",
        features_en=("raised edges protect the camera", "a slim grip"),
        features_zh=("镜头加高保护", "轻薄防滑"),
    ),
    Leaf(
        ("Electronics", "Phones", "Chargers"),
        ("电子产品", "手机", "充电器"),
        ("Fast Charger", "USB-C Charger"),
        ("快充充电器", "USB-C充电头"),
        25,
        ("Anker", "Baseus", "Belkin", "Apple", "Xiaomi", "Huawei"),
        (_c("power", WATTS, True), _c("colour", COLOURS[:2])),
        ("quality", "speed", "delivery", "price"),
        1.1,
        features_en=("GaN fast charging", "foldable plug"),
        features_zh=("氮化镓快充", "折叠插脚"),
    ),
    Leaf(
        ("Electronics", "Wearables", "Smartwatches"),
        ("电子产品", "智能穿戴", "智能手表"),
        ("Smartwatch", "Fitness Smartwatch"),
        ("智能手表", "运动手表"),
        220,
        ("Apple", "Huawei", "Xiaomi", "Garmin", "Samsung"),
        (
            _c("colour", COLOURS[:4], True),
            _b("bluetooth", 1.0),
            _b("gps", 0.7),
            _n("battery_days", 1, 14, "days"),
        ),
        ("battery", "screen", "comfort", "delivery"),
        1.0,
        season="gift",
        features_en=("heart-rate and sleep tracking", "5 ATM water resistance"),
        features_zh=("心率与睡眠监测", "5ATM防水"),
    ),
    Leaf(
        ("Electronics", "TV & Video", "Televisions"),
        ("电子产品", "电视影音", "电视"),
        ("4K Smart TV", "QLED TV"),
        ("4K智能电视", "QLED电视"),
        600,
        ("Sony", "Samsung", "TCL", "Hisense", "LG", "Xiaomi"),
        (_c("screen_size", SCREEN, True), _b("hdr", 0.8), _b("wifi", 1.0)),
        ("screen", "sound", "delivery", "quality"),
        0.6,
        season="gift",
        features_en=("Dolby Vision HDR", "a 120 Hz panel"),
        features_zh=("杜比视界HDR", "120Hz高刷屏"),
    ),
    Leaf(
        ("Computers", "Laptops", "Laptops"),
        ("电脑办公", "笔记本", "笔记本电脑"),
        ("Laptop", "Ultrabook", "Gaming Laptop"),
        ("笔记本电脑", "轻薄本", "游戏本"),
        1000,
        ("Apple", "Lenovo", "Dell", "HP", "ASUS", "Huawei"),
        (
            _c("capacity", LAPTOP_CAP, True),
            _c("memory", MEMORY, True),
            _c("colour", COLOURS[:3] + COLOURS[7:8]),
            _n("battery_hours", 6, 20, "h"),
        ),
        ("battery", "screen", "speed", "delivery"),
        1.0,
        complement="Mice",
        season="gift",
        features_en=("a backlit keyboard", "an all-day battery"),
        features_zh=("背光键盘", "长续航"),
    ),
    Leaf(
        ("Computers", "Storage", "SSD"),
        ("电脑办公", "存储", "固态硬盘"),
        ("NVMe SSD", "Portable SSD"),
        ("SSD固态硬盘", "移动固态硬盘"),
        90,
        ("Samsung", "WD", "Kingston", "Crucial"),
        (_c("capacity", SSD_CAP, True),),
        ("speed", "quality", "price", "delivery"),
        0.9,
        features_en=("read speeds up to 7000 MB/s",),
        features_zh=("读取速度高达7000MB/s",),
    ),
    Leaf(
        ("Computers", "Accessories", "Mice"),
        ("电脑办公", "外设", "鼠标"),
        ("Wireless Mouse", "Gaming Mouse"),
        ("无线鼠标", "游戏鼠标"),
        35,
        ("Logitech", "Razer", "Microsoft", "Xiaomi"),
        (_c("colour", COLOURS[:3], True), _b("bluetooth", 0.6), _n("battery_months", 3, 24, "months")),
        ("comfort", "battery", "quality", "delivery"),
        1.0,
        complement="Keyboards",
        features_en=("a silent click", "an ergonomic shape"),
        features_zh=("静音按键", "人体工学设计"),
    ),
    Leaf(
        ("Computers", "Accessories", "Keyboards"),
        ("电脑办公", "外设", "键盘"),
        ("Mechanical Keyboard", "Wireless Keyboard"),
        ("机械键盘", "无线键盘"),
        70,
        ("Logitech", "Razer", "Microsoft"),
        (_c("colour", COLOURS[:2], True), _b("bluetooth", 0.5), _b("backlit", 0.6)),
        ("quality", "comfort", "delivery", "price"),
        0.8,
        features_en=("hot-swappable switches",),
        features_zh=("热插拔轴体",),
    ),
    Leaf(
        ("Home & Kitchen", "Kitchen Appliances", "Coffee Makers"),
        ("家居厨房", "厨房电器", "咖啡机"),
        ("Espresso Machine", "Coffee Maker"),
        ("意式咖啡机", "咖啡机"),
        250,
        ("DeLonghi", "Philips", "Nespresso"),
        (_c("colour", COLOURS[:3], True), _n("pressure_bar", 9, 20, "bar")),
        ("taste", "quality", "delivery", "price"),
        0.7,
        complement="Coffee Capsules",
        season="gift",
        features_en=("barista-style milk frothing",),
        features_zh=("专业奶泡",),
    ),
    Leaf(
        ("Grocery", "Coffee", "Coffee Capsules"),
        ("食品饮料", "咖啡", "咖啡胶囊"),
        ("Coffee Capsules", "Espresso Pods"),
        ("咖啡胶囊", "胶囊咖啡"),
        9,
        ("Nespresso", "Starbucks", "Lavazza"),
        (_c("pack", PACK, True), _n("intensity", 4, 13, "")),
        ("taste", "price", "delivery", "quality"),
        1.3,
        consumable=True,
        features_en=("rich crema", "notes of caramel"),
        features_zh=("油脂丰富", "焦糖风味"),
    ),
    Leaf(
        ("Home & Kitchen", "Cookware", "Frying Pans"),
        ("家居厨房", "锅具", "炒锅"),
        ("Frying Pan", "Wok"),
        ("炒锅", "平底锅"),
        45,
        ("Tefal", "Supor", "Zwilling"),
        (_c("material", MATERIAL_PAN, True), _n("diameter_cm", 20, 32, "cm")),
        ("quality", "size", "delivery", "price"),
        0.9,
        features_en=("works on induction hobs",),
        features_zh=("电磁炉通用",),
    ),
    Leaf(
        ("Home & Kitchen", "Kitchen Appliances", "Rice Cookers"),
        ("家居厨房", "厨房电器", "电饭煲"),
        ("Rice Cooker", "Smart Rice Cooker"),
        ("电饭煲", "智能电饭煲"),
        80,
        ("Midea", "Supor", "Panasonic", "Xiaomi"),
        (_c("volume", VOLUME_L, True), _c("colour", COLOURS[:2])),
        ("taste", "quality", "delivery", "price"),
        0.8,
        features_en=("fuzzy-logic cooking",),
        features_zh=("智能预约",),
    ),
    Leaf(
        ("Home & Kitchen", "Cleaning", "Vacuum Cleaners"),
        ("家居厨房", "清洁电器", "吸尘器"),
        ("Cordless Vacuum", "Robot Vacuum"),
        ("无线吸尘器", "扫地机器人"),
        300,
        ("Dyson", "Xiaomi", "Philips", "Midea"),
        (_c("colour", COLOURS[:3] + COLOURS[8:], True), _n("battery_minutes", 30, 120, "min")),
        ("battery", "quality", "delivery", "price"),
        0.8,
        season="gift",
        features_en=("strong suction",),
        features_zh=("强劲吸力",),
    ),
    Leaf(
        ("Fashion", "Women", "Dresses"),
        ("服饰鞋包", "女装", "连衣裙"),
        ("Summer Dress", "Midi Dress", "Floral Dress"),
        ("连衣裙", "碎花连衣裙", "夏季连衣裙"),
        45,
        ("Zara", "Uniqlo", "H&M", "Mango"),
        (_c("size", SIZES, True), _c("colour", CLOTH_COLOURS, True), _c("material", MATERIAL_CLOTH)),
        ("size", "quality", "delivery", "price"),
        1.5,
        season="summer",
        features_en=("a flattering cut",),
        features_zh=("显瘦版型",),
    ),
    Leaf(
        ("Fashion", "Men", "T-Shirts"),
        ("服饰鞋包", "男装", "T恤"),
        ("Cotton T-Shirt", "Crew Neck T-Shirt"),
        ("纯棉T恤", "圆领T恤"),
        20,
        ("Uniqlo", "Nike", "Adidas", "H&M", "Li-Ning"),
        (_c("size", SIZES, True), _c("colour", CLOTH_COLOURS, True), _c("material", MATERIAL_CLOTH[:3])),
        ("size", "quality", "delivery", "price"),
        1.6,
        consumable=True,
        season="summer",
        features_en=("breathable fabric",),
        features_zh=("透气面料",),
    ),
    Leaf(
        ("Fashion", "Outerwear", "Down Jackets"),
        ("服饰鞋包", "外套", "羽绒服"),
        ("Down Jacket", "Puffer Jacket"),
        ("羽绒服", "轻薄羽绒服"),
        150,
        ("The North Face", "Bosideng", "Uniqlo"),
        (_c("size", SIZES, True), _c("colour", CLOTH_COLOURS, True)),
        ("size", "quality", "warmth", "delivery"),
        1.0,
        season="winter",
        features_en=("90% duck down filling",),
        features_zh=("90%鸭绒填充",),
    ),
    Leaf(
        ("Fashion", "Shoes", "Running Shoes"),
        ("服饰鞋包", "鞋靴", "跑步鞋"),
        ("Running Shoes", "Trail Running Shoes"),
        ("跑步鞋", "越野跑鞋"),
        95,
        ("Nike", "Adidas", "ASICS", "Li-Ning", "Anta"),
        (_c("size", SHOE_SIZES, True), _c("colour", CLOTH_COLOURS[:5], True)),
        ("size", "comfort", "quality", "delivery"),
        1.4,
        complement="Socks",
        features_en=("responsive cushioning",),
        features_zh=("缓震回弹",),
    ),
    Leaf(
        ("Fashion", "Accessories", "Socks"),
        ("服饰鞋包", "配饰", "袜子"),
        ("Sports Socks", "Ankle Socks"),
        ("运动袜", "短袜"),
        10,
        ("Nike", "Adidas", "Uniqlo", "Li-Ning"),
        (
            _c("size", SIZES[1:5], True),
            _c("pack", [(v, f"{v} pairs", f"{v}双") for v in ("3", "5", "6")], True),
        ),
        ("size", "quality", "price", "delivery"),
        1.0,
        consumable=True,
        features_en=("cushioned soles",),
        features_zh=("毛圈底",),
    ),
    Leaf(
        ("Fashion", "Bags", "Backpacks"),
        ("服饰鞋包", "箱包", "双肩包"),
        ("Backpack", "Laptop Backpack"),
        ("双肩包", "电脑背包"),
        60,
        ("Samsonite", "Xiaomi", "The North Face", "Decathlon"),
        (_c("capacity", BAG_L, True), _c("material", MATERIAL_BAG), _c("colour", COLOURS[:4], True)),
        ("quality", "size", "delivery", "price"),
        0.9,
        features_en=("a padded laptop sleeve",),
        features_zh=("加厚电脑隔层",),
    ),
    Leaf(
        ("Beauty", "Skincare", "Face Cream"),
        ("美妆个护", "护肤", "面霜"),
        ("Moisturising Face Cream", "Night Cream"),
        ("保湿面霜", "晚霜"),
        40,
        ("L'Oreal", "Estee Lauder", "Shiseido", "Lancome", "Pechoin", "Neutrogena"),
        (_n("volume_ml", 30, 100, "ml"),),
        ("skin", "scent", "price", "delivery"),
        1.3,
        consumable=True,
        features_en=("hyaluronic acid", "a light texture"),
        features_zh=("玻尿酸", "质地轻薄"),
    ),
    Leaf(
        ("Beauty", "Skincare", "Sunscreen"),
        ("美妆个护", "护肤", "防晒霜"),
        ("Sunscreen", "Sun Cream"),
        ("防晒霜", "防晒乳"),
        22,
        ("Anessa", "Shiseido", "Neutrogena", "L'Oreal"),
        (_c("spf", SPF, True), _n("volume_ml", 40, 90, "ml")),
        ("skin", "scent", "price", "delivery"),
        1.0,
        consumable=True,
        season="summer",
        features_en=("water-resistant protection",),
        features_zh=("防水防汗",),
    ),
    Leaf(
        ("Beauty", "Makeup", "Lipstick"),
        ("美妆个护", "彩妆", "口红"),
        ("Matte Lipstick", "Lipstick"),
        ("哑光口红", "口红"),
        28,
        ("MAC", "Lancome", "Perfect Diary", "L'Oreal", "Estee Lauder"),
        (
            _c(
                "colour",
                [
                    ("Red", "Red", "正红色"),
                    ("Pink", "Pink", "粉色"),
                    ("Nude", "Nude", "裸色"),
                    ("Berry", "Berry", "浆果色"),
                ],
                True,
            ),
        ),
        ("colour", "quality", "price", "delivery"),
        1.1,
        consumable=True,
        season="gift",
        features_en=("long-lasting colour",),
        features_zh=("持久显色",),
    ),
    Leaf(
        ("Beauty", "Personal Care", "Electric Toothbrushes"),
        ("美妆个护", "个人护理", "电动牙刷"),
        ("Electric Toothbrush", "Sonic Toothbrush"),
        ("电动牙刷", "声波电动牙刷"),
        60,
        ("Philips", "Oral-B", "Xiaomi"),
        (_c("colour", COLOURS[:2] + COLOURS[5:6], True), _n("battery_days", 14, 60, "days")),
        ("battery", "quality", "price", "delivery"),
        0.9,
        complement="Toothbrush Heads",
        features_en=("a two-minute smart timer",),
        features_zh=("两分钟智能计时",),
    ),
    Leaf(
        ("Beauty", "Personal Care", "Toothbrush Heads"),
        ("美妆个护", "个人护理", "牙刷头"),
        ("Replacement Brush Heads",),
        ("替换牙刷头",),
        15,
        ("Philips", "Oral-B", "Xiaomi"),
        (_c("pack", [(v, f"{v} pcs", f"{v}支装") for v in ("2", "4", "8")], True),),
        ("quality", "price", "fit", "delivery"),
        0.8,
        consumable=True,
    ),
    Leaf(
        ("Sports & Outdoors", "Fitness", "Yoga Mats"),
        ("运动户外", "健身", "瑜伽垫"),
        ("Yoga Mat", "Non-Slip Yoga Mat"),
        ("瑜伽垫", "防滑瑜伽垫"),
        25,
        ("Decathlon", "Keep", "Adidas", "Li-Ning"),
        (_c("colour", COLOURS[3:7], True), _n("thickness_mm", 4, 10, "mm")),
        ("quality", "size", "price", "delivery"),
        0.8,
        features_en=("eco-friendly TPE",),
        features_zh=("环保TPE材质",),
    ),
    Leaf(
        ("Sports & Outdoors", "Camping", "Tents"),
        ("运动户外", "露营", "帐篷"),
        ("Camping Tent", "Pop-Up Tent"),
        ("露营帐篷", "速开帐篷"),
        120,
        ("Naturehike", "Coleman", "Decathlon", "The North Face"),
        (_c("persons", PERSONS, True), _b("waterproof", 0.9)),
        ("quality", "size", "delivery", "price"),
        0.6,
        season="summer",
        features_en=("sets up in 60 seconds",),
        features_zh=("60秒快速搭建",),
    ),
    Leaf(
        ("Pet Supplies", "Dogs", "Dog Food"),
        ("宠物用品", "狗狗", "狗粮"),
        ("Dry Dog Food", "Puppy Food"),
        ("狗粮", "幼犬粮"),
        35,
        ("Royal Canin", "Purina", "Pedigree"),
        (_c("weight", WEIGHT_FOOD, True),),
        ("taste", "price", "quality", "delivery"),
        1.0,
        consumable=True,
        features_en=("complete and balanced nutrition",),
        features_zh=("营养均衡",),
    ),
    Leaf(
        ("Pet Supplies", "Cats", "Cat Litter"),
        ("宠物用品", "猫咪", "猫砂"),
        ("Clumping Cat Litter",),
        ("结团猫砂", "豆腐猫砂"),
        18,
        ("Ever Clean", "Purina", "Royal Canin"),
        (_c("weight", WEIGHT_FOOD, True),),
        ("smell", "price", "quality", "delivery"),
        0.9,
        consumable=True,
        features_en=("odour control",),
        features_zh=("除臭抑菌",),
    ),
    Leaf(
        ("Toys", "Building Toys", "Building Blocks"),
        ("玩具乐器", "积木拼插", "积木"),
        ("Building Blocks Set", "Building Kit"),
        ("积木套装", "拼装积木"),
        60,
        ("LEGO", "Keeppley"),
        (_c("pieces", PIECES, True), _n("age_min", 4, 14, "+")),
        ("quality", "price", "delivery", "fun"),
        0.9,
        season="gift",
        features_en=("step-by-step instructions",),
        features_zh=("附详细拼装说明",),
    ),
)

LEAF_INDEX: dict[str, int] = {leaf.path_en[-1]: k for k, leaf in enumerate(LEAVES)}

# ---------------------------------------------------------------- review phrases
# aspect -> (positive en, negative en, positive zh, negative zh); several variants each.
ASPECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "delivery": (
        ("Delivery was fast, it arrived in two days.", "Shipping was quick and the box was intact."),
        ("Delivery was slow, it took almost two weeks.", "The parcel arrived late and the box was damaged."),
        ("物流很快，两天就到了。", "发货速度快，包装完好。"),
        ("物流太慢了，等了快两周。", "快递很慢，外包装还破了。"),
    ),
    "quality": (
        ("The build quality is excellent.", "Great quality, feels solid."),
        ("Poor quality, it broke after a week.", "Cheap materials, it feels flimsy."),
        ("质量很好，做工扎实。", "品质不错，用料很足。"),
        ("质量很差，用了一周就坏了。", "做工粗糙，材料很廉价。"),
    ),
    "battery": (
        ("Battery life is amazing, it lasts for days.", "The battery easily lasts all day."),
        ("Battery drains very fast.", "The battery life is terrible, I charge it twice a day."),
        ("续航很强，能用好几天。", "电池很耐用，一天都用不完。"),
        ("电池掉电太快了。", "续航太差，一天要充两次电。"),
    ),
    "sound": (
        ("The sound is crisp with great bass.", "Excellent sound quality."),
        ("The sound is muffled and tinny.", "Sound quality is disappointing."),
        ("音质清晰，低音很足。", "音质非常好。"),
        ("音质发闷，听起来很廉价。", "音质让人失望。"),
    ),
    "comfort": (
        ("Very comfortable to wear for hours.", "Comfortable and light."),
        ("Uncomfortable after half an hour.", "It hurts after wearing it for a while."),
        ("戴很久也很舒服。", "轻便舒适。"),
        ("戴半小时就不舒服。", "久戴会痛。"),
    ),
    "fit": (
        ("It fits perfectly.", "Fits just right."),
        ("It does not fit properly.", "The fit is loose and it slips."),
        ("尺寸完全合适。", "大小刚刚好。"),
        ("尺寸不合适。", "太松了，容易滑落。"),
    ),
    "size": (
        ("True to size, the fit is perfect.", "The size is exactly as described."),
        ("The size runs small, order one size up.", "Too big, the size chart is wrong."),
        ("尺码标准，很合身。", "大小和描述一致。"),
        ("尺码偏小，建议买大一码。", "太大了，尺码表不准。"),
    ),
    "screen": (
        ("The screen is bright and sharp.", "Gorgeous display."),
        ("The screen is dim and washed out.", "The display has dead pixels."),
        ("屏幕清晰明亮。", "显示效果很棒。"),
        ("屏幕太暗，颜色发灰。", "屏幕有坏点。"),
    ),
    "camera": (
        ("The camera takes stunning photos.", "Great camera, even at night."),
        ("The camera is blurry in low light.", "Photos look washed out."),
        ("拍照非常清晰。", "夜景拍照也很好。"),
        ("暗光下拍照模糊。", "照片发灰。"),
    ),
    "speed": (
        ("It is very fast.", "Super fast, no lag at all."),
        ("It is slow and laggy.", "Much slower than advertised."),
        ("速度很快。", "非常流畅，一点不卡。"),
        ("速度很慢，很卡。", "比宣传的慢很多。"),
    ),
    "price": (
        ("Great value for the price.", "Good price for what you get."),
        ("Overpriced for what it is.", "Not worth the money."),
        ("性价比很高。", "价格实惠。"),
        ("价格太贵，不值。", "不值这个价。"),
    ),
    "taste": (
        ("Tastes delicious.", "The flavour is rich and smooth."),
        ("Tastes bland.", "The flavour is bitter and stale."),
        ("味道很好。", "口感醇厚顺滑。"),
        ("味道很淡。", "口感发苦，不新鲜。"),
    ),
    "skin": (
        ("My skin feels soft and hydrated.", "Gentle on sensitive skin."),
        ("It made my skin break out.", "It irritated my skin."),
        ("用后皮肤很水润。", "敏感肌也能用。"),
        ("用了以后长痘了。", "皮肤过敏发红。"),
    ),
    "scent": (
        ("The scent is light and pleasant.", "Smells lovely."),
        ("The scent is too strong.", "It smells like chemicals."),
        ("味道清淡好闻。", "香味很舒服。"),
        ("香味太浓了。", "有刺鼻的化学味。"),
    ),
    "colour": (
        ("The colour is beautiful and true to the photos.", "Lovely shade."),
        ("The colour looks different from the photos.", "The shade is not what I expected."),
        ("颜色很好看，和图片一样。", "色号很美。"),
        ("颜色和图片差别很大。", "色号和预期不一样。"),
    ),
    "warmth": (
        ("Very warm even in freezing weather.", "Keeps me warm all winter."),
        ("Not warm enough for winter.", "The filling is thin and cold."),
        ("非常保暖。", "冬天穿很暖和。"),
        ("不够保暖。", "填充太少，很冷。"),
    ),
    "smell": (
        ("No smell at all, great odour control.", "Keeps the room fresh."),
        ("It does not control the smell.", "The odour is still strong."),
        ("完全没有异味。", "除臭效果很好。"),
        ("除臭效果很差。", "还是有很大的味道。"),
    ),
    "fun": (
        ("My kids love it, hours of fun.", "Great fun to build."),
        ("Boring, my kids lost interest quickly.", "Pieces were missing, no fun."),
        ("孩子很喜欢，玩了好几个小时。", "拼起来很有趣。"),
        ("很无聊，孩子很快就不玩了。", "少了零件，很扫兴。"),
    ),
}

REVIEW_TITLES = {
    "en": {
        5: ("Excellent!", "Love it", "Highly recommend"),
        4: ("Very good", "Happy with it"),
        3: ("It's okay", "Average"),
        2: ("Disappointed", "Not great"),
        1: ("Terrible", "Do not buy"),
    },
    "zh": {
        5: ("非常满意", "强烈推荐", "好评"),
        4: ("挺好的", "满意"),
        3: ("一般般", "还行"),
        2: ("有点失望", "不太好"),
        1: ("非常差", "差评，别买"),
    },
}

QUERY_MODIFIERS_EN = ("cheap", "best", "wireless", "new", "sale", "2024")
QUERY_MODIFIERS_ZH = ("便宜", "新款", "正品", "包邮", "推荐")

CARRIERS_EN = ("UPS", "FedEx", "DHL", "USPS")
CARRIERS_ZH = ("SF Express", "JD Logistics", "ZTO", "YTO")

FIRST_NAMES_EN = ("alex", "sam", "jordan", "taylor", "morgan", "casey", "jamie", "riley", "chris", "pat")
FIRST_NAMES_ZH = ("wei", "fang", "lei", "jing", "min", "hui", "qiang", "yan", "tao", "li")
COUNTRIES_EN = ("US", "GB", "CA", "AU", "DE", "SG")
COUNTRIES_ZH = ("CN", "CN", "CN", "TW", "HK", "SG")
