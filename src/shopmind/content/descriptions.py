"""Product descriptions generated from an item's stored fields only (English and Chinese).

Every sentence or bullet is built from one *claim*: a ``(field, value)`` pair read from the item
(``title``, ``brand``, ``category``, ``price``, ``stock``, ``attributes.<key>``) rendered with a fixed
template. :class:`Description` returns the claims with their source fields, so tests and callers
can check that each claim's value is the item's value and appears in the text. Nothing else is
said: no adjectives about quality, no invented features. Styles:

* ``short`` — one or two sentences;
* ``bullet`` — one bullet per claim;
* ``seo`` — a title tag (≤ 60 characters where possible), a meta description (≤ 160 characters)
  and keywords, all from the same claims.

With an LLM (:class:`shopmind.assistant.llm.LLMPhraser`) the template text is re-phrased and the
result kept only if the fact checker finds every number, money amount and attribute value in the
item (otherwise the template text is returned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shopmind.data.schema import Item
from shopmind.errors import ConfigError

Style = Literal["short", "bullet", "seo"]
STYLES = ("short", "bullet", "seo")

ZH_KEYS = {
    "colour": "颜色",
    "color": "颜色",
    "size": "尺码",
    "capacity": "容量",
    "storage": "存储",
    "bluetooth": "蓝牙",
    "material": "材质",
    "battery": "电池",
    "battery_hours": "续航",
    "weight": "重量",
    "screen": "屏幕",
    "screen_size": "屏幕尺寸",
    "waterproof": "防水",
    "wireless": "无线",
    "noise_cancelling": "降噪",
    "memory": "内存",
    "ram": "内存",
    "power": "功率",
    "volume": "容量",
    "gender": "适用人群",
    "season": "季节",
    "pack_size": "件数",
}


@dataclass(frozen=True)
class Claim:
    """One statement: ``text`` renders ``value``, read from the item's ``field``."""

    field: str
    value: Any
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "text": self.text}


@dataclass
class Description:
    item_id: str
    style: str
    language: str
    text: str
    claims: list[Claim] = field(default_factory=list)
    seo: dict[str, Any] | None = None
    llm_used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "style": self.style,
            "language": self.language,
            "text": self.text,
            "claims": [c.to_dict() for c in self.claims],
            "seo": self.seo,
            "llm_used": self.llm_used,
        }


def value_text(value: Any, language: str = "en") -> str:
    """How a stored value is written in a description (booleans as yes/no, lists joined)."""
    if isinstance(value, bool):
        if language == "zh":
            return "是" if value else "否"
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ("、" if language == "zh" else ", ").join(str(v) for v in value)
    return str(value)


def _key_label(key: str, language: str) -> str:
    if language == "zh":
        return ZH_KEYS.get(key.lower(), key)
    return key.replace("_", " ").capitalize()


def item_claims(item: Item, language: str = "en") -> list[Claim]:
    """All claims the item's fields support, in a fixed order."""
    zh = language == "zh"
    claims = [Claim("title", item.title, item.title)]
    if item.brand:
        claims.append(Claim("brand", item.brand, f"品牌：{item.brand}" if zh else f"Brand: {item.brand}"))
    if item.category:
        leaf = item.category[-1]
        claims.append(Claim("category", leaf, f"类目：{leaf}" if zh else f"Category: {leaf}"))
    for key, value in item.attributes.items():
        if value is None or value == "" or isinstance(value, dict):
            continue
        label = _key_label(key, language)
        vt = value_text(value, language)
        claims.append(Claim(f"attributes.{key}", value, f"{label}：{vt}" if zh else f"{label}: {vt}"))
    if item.price is not None:
        money = f"{item.price:.2f} {item.currency}"
        claims.append(Claim("price", item.price, f"价格：{money}" if zh else f"Price: {money}"))
    if item.stock is not None:
        claims.append(
            Claim(
                "stock",
                item.stock,
                ("有货" if item.stock > 0 else "暂时缺货")
                if zh
                else ("In stock" if item.stock > 0 else "Currently out of stock"),
            )
        )
    return claims


def describe(item: Item, style: str = "short", language: str = "en", llm: Any = None) -> Description:
    """A description of ``item`` in ``style`` and ``language`` built only from :func:`item_claims`."""
    if style not in STYLES:
        raise ConfigError("unknown description style", value=style, expected=" | ".join(STYLES))
    if language not in ("en", "zh"):
        raise ConfigError("unsupported description language", value=language, expected="en | zh")
    zh = language == "zh"
    claims = item_claims(item, language)
    title, rest = claims[0], claims[1:]
    seo = None
    if style == "bullet":
        text = "\n".join([title.text, *(f"- {c.text}" for c in rest)])
    elif style == "short":
        facts = [c for c in rest if c.field.startswith("attributes.")][:4]
        extra = [c for c in rest if c.field in ("brand", "price", "stock")]
        used = facts + extra
        claims = [title, *used]
        sep = "；" if zh else "; "
        body = sep.join(c.text for c in used)
        text = f"{title.text}。{body}。" if zh else f"{title.text}. {body}."
    else:
        brand = next((c for c in rest if c.field == "brand"), None)
        cat = next((c for c in rest if c.field == "category"), None)
        tag_parts = [item.title] + [
            str(c.value) for c in (brand, cat) if c is not None and str(c.value) not in item.title
        ]
        title_tag = " | ".join(tag_parts)
        meta_parts: list[str] = []
        for c in rest:
            candidate = ("；" if zh else "; ").join([*meta_parts, c.text])
            if len(candidate) > 150:
                break
            meta_parts.append(c.text)
        meta = ("；" if zh else "; ").join(meta_parts)
        keywords = [item.title] + [
            value_text(c.value, language) for c in rest if c.field in ("brand", "category")
        ]
        keywords += [
            value_text(c.value, language)
            for c in rest
            if c.field.startswith("attributes.") and not isinstance(c.value, bool)
        ]
        seo = {"title": title_tag, "meta_description": meta, "keywords": keywords}
        claims = [title, *[c for c in rest if c.text in meta_parts or c.field in ("brand", "category")]]
        text = f"{title_tag}\n{meta}"
    desc = Description(item.id, style, language, text, claims, seo)
    if llm is not None:
        phrased = llm.describe(desc, item)
        if phrased is not None:
            desc.text = phrased
            desc.llm_used = True
    return desc
