"""Fixtures of the search tests: a tiny catalogue where the right answer is certain, a fast encoder."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from shopmind.config import SearchConfig
from shopmind.search.engine import ProductSearch


class HashEncoder:
    """Deterministic bag-of-words hashing encoder (a test double: fast, no model files).

    Texts sharing words get a high cosine, so semantic and hybrid code paths have real signal.
    """

    name = "hash-64"
    dim = 64

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


ITEMS = [
    {"id": "ssd1", "title": "Samsung T7 Portable SSD 1TB", "brand": "Samsung", "category": ["Computers", "Storage"],
     "price": 99.0, "stock": 5, "attributes": {"color": "blue"}, "description": "Fast external drive, USB 3.2",
     "created_at": "2023-01-10"},
    {"id": "ssd2", "title": "Crucial X9 Portable SSD 2 TB", "brand": "Crucial", "category": ["Computers", "Storage"],
     "price": 149.0, "stock": 2, "attributes": {"color": "black"}, "created_at": "2024-03-01"},
    {"id": "hp1", "title": "Sony WH-1000XM5 Wireless Headphones", "brand": "Sony", "category": ["Audio", "Headphones"],
     "price": 349.0, "stock": 0, "attributes": {"color": "black"}, "created_at": "2022-05-20"},
    {"id": "hp2", "title": "Bose QuietComfort Earbuds", "brand": "Bose", "category": ["Audio", "Headphones"],
     "price": 199.0, "stock": 7, "attributes": {"color": "white"}, "created_at": "2023-09-15"},
    {"id": "sp1", "title": "JBL Flip 6 Bluetooth Speaker", "brand": "JBL", "category": ["Audio", "Speakers"],
     "price": 129.0, "stock": 3, "attributes": {"color": "black"}, "created_at": "2022-11-11"},
    {"id": "tv1", "title": "LG OLED55C3 55 inch 4K Television", "brand": "LG", "category": ["TV", "OLED"],
     "price": 1299.0, "stock": 1, "attributes": {"color": "black"}, "created_at": "2023-04-04"},
    {"id": "zh1", "title": "订单待处理说明书", "brand": None, "category": ["帮助"], "price": 0.0,
     "description": "如何处理您的订单"},
    {"id": "zh2", "title": "华为 蓝牙耳机 FreeBuds 5i", "brand": "Huawei", "category": ["Audio", "Headphones"],
     "price": 59.0, "stock": 10, "attributes": {"color": "white"}},
    {"id": "mx1", "title": "Apple iPhone 15 手机壳 透明 MagSafe", "brand": "Apple", "category": ["Phones", "Cases"],
     "price": 19.0, "stock": 50, "attributes": {"color": "clear"}},
    {"id": "kb1", "title": "Logitech MX Keys Wireless Keyboard", "brand": "Logitech", "category": ["Computers", "Accessories"],
     "price": 99.0, "stock": 4, "attributes": {"color": "graphite"}, "description": "Backlit keyboard for Mac and PC"},
]  # fmt: skip

POPULARITY = {"hp2": 50.0, "sp1": 30.0, "ssd1": 20.0, "hp1": 10.0}
RATING = {"hp1": 4.8, "hp2": 4.1, "sp1": 4.5}


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def engine(encoder: HashEncoder) -> ProductSearch:
    return ProductSearch.build(
        ITEMS, config=SearchConfig(min_similarity=0.3), popularity=POPULARITY, rating=RATING, encoder=encoder
    )
