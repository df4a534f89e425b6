"""The synthetic bilingual demo shop: seeded, deterministic, streamed to files or to a store.

>>> from shopmind.datasets.synthetic import ShopConfig, generate
>>> generate(ShopConfig.preset("tiny", seed=7), "var/demo-shop")  # doctest: +SKIP

See ``docs/datasets.md`` for the behaviour model and the files written.
"""

from shopmind.datasets.synthetic.config import PRESETS, ShopConfig
from shopmind.datasets.synthetic.documents import help_documents
from shopmind.datasets.synthetic.generate import (
    FILES,
    GenerateResult,
    Shop,
    build_shop,
    category_tree,
    generate,
    item_records,
    iter_event_chunks,
    user_records,
)

__all__ = [
    "FILES",
    "PRESETS",
    "GenerateResult",
    "Shop",
    "ShopConfig",
    "build_shop",
    "category_tree",
    "generate",
    "help_documents",
    "item_records",
    "iter_event_chunks",
    "user_records",
]
