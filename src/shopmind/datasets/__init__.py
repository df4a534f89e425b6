"""Loaders for public benchmark formats and the synthetic demo shop.

Every loader takes an explicit path (a file or its folder) and returns shopmind's data model:
frames with the :mod:`shopmind.data.schema` column names, record lists via the ``*_to_*`` helpers, and
a ready :class:`~shopmind.data.Dataset` where that makes sense. Malformed input raises
:class:`~shopmind.errors.DataError` naming the file, line and field.

The synthetic shop lives in :mod:`shopmind.datasets.synthetic` (imported on demand).
"""

from shopmind.datasets.dialogue import (
    IntentData,
    ecd_groups,
    load_banking77,
    load_banking77_split,
    load_bitext,
    load_ecd,
    load_ecd_taobao,
)
from shopmind.datasets.icecat import (
    SearchBenchmark,
    icecat_to_items,
    load_chorus_icecat,
    load_icecat_products,
    load_judgments,
)
from shopmind.datasets.movielens import (
    MovieLens,
    load_movielens,
    load_movielens_items,
    load_movielens_ratings,
    load_movielens_users,
)
from shopmind.datasets.reviews import amazon_rating_events, amazon_reviews_to_records, load_amazon_reviews
from shopmind.datasets.sales import load_aus_retail, load_us_retail, load_walmart_weekly, to_sales_points
from shopmind.datasets.sequences import (
    SequenceData,
    diginetica_dataset,
    load_diginetica,
    load_s3rec,
    load_s3rec_attributes,
    read_s3rec_sequences,
)

__all__ = [
    "IntentData",
    "MovieLens",
    "SearchBenchmark",
    "SequenceData",
    "amazon_rating_events",
    "amazon_reviews_to_records",
    "diginetica_dataset",
    "ecd_groups",
    "icecat_to_items",
    "load_amazon_reviews",
    "load_aus_retail",
    "load_banking77",
    "load_banking77_split",
    "load_bitext",
    "load_chorus_icecat",
    "load_diginetica",
    "load_ecd",
    "load_ecd_taobao",
    "load_icecat_products",
    "load_judgments",
    "load_movielens",
    "load_movielens_items",
    "load_movielens_ratings",
    "load_movielens_users",
    "load_s3rec",
    "load_s3rec_attributes",
    "load_us_retail",
    "load_walmart_weekly",
    "read_s3rec_sequences",
    "to_sales_points",
]
