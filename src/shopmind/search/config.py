"""Search settings: the ``[search]`` section of ``shopmind.toml`` (:class:`SearchConfig`).

One frozen, validated model: ``Settings.search`` holds it, ``search.service.train`` hands it to
:meth:`ProductSearch.build <shopmind.search.engine.ProductSearch.build>`, and the built index saves it
in its manifest (``search.json``) so a loaded index ranks as it was built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shopmind.errors import ConfigError

MODES = ("bm25", "semantic", "hybrid", "ltr")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popularity", "rating")
SORT_ALIASES = {
    "price": "price_asc",
    "-price": "price_desc",
    "price-desc": "price_desc",
    "price-asc": "price_asc",
}
LEXICAL_FIELDS = ("title", "brand", "category", "attributes", "description")


def _default_fields() -> dict[str, float]:
    return {"title": 3.0, "brand": 2.0, "category": 2.0, "attributes": 1.0, "description": 0.5}


class SearchConfig(BaseModel):
    """Index and ranking settings (see docs/search.md for what each one changes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, float] = Field(
        default_factory=_default_fields,
        description=f"BM25 boost per product field (fields: {', '.join(LEXICAL_FIELDS)}); "
        "a document's score is the boosted sum of its per-field BM25 scores",
    )
    k1: float = Field(default=1.2, ge=0, le=10, description="BM25 term-frequency saturation")
    b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation")
    semantic: bool = Field(default=True, description="embed products for semantic and hybrid search")
    encoder: str | None = Field(
        default=None,
        max_length=4096,
        description="sentence encoder spec (shopmind.embeddings.get_encoder): None = packaged MiniLM, "
        "'mpnet', or a model folder",
    )
    ann_threshold: int = Field(
        default=10_000, ge=0, description="exact vector search below this many products, usearch HNSW above"
    )
    fusion: Literal["rrf", "weighted"] = Field(
        default="rrf", description="rrf: reciprocal-rank fusion; weighted: min-max normalised scores"
    )
    rrf_k: float = Field(default=60.0, gt=0, description="RRF constant: score = Σ 1 / (rrf_k + rank)")
    alpha: float = Field(default=0.5, ge=0, le=1, description="keyword weight in weighted fusion")
    candidates: int = Field(default=200, ge=1, le=100_000, description="candidates per retriever")
    min_similarity: float = Field(
        default=0.35, ge=-1, le=1, description="cosine a semantic-only result needs at least"
    )
    rerank_n: int = Field(
        default=100, ge=1, le=100_000, description="fused candidates the ltr ranker reorders"
    )
    personal_weight: float = Field(
        default=0.3, ge=0, le=100, description="weight of the user's brand/category affinity"
    )
    facet_attributes: int = Field(default=6, ge=0, le=100, description="attribute keys offered as facets")
    typo: bool = Field(default=True, description="correct words the index does not know")

    def __init__(self, **data: Any) -> None:
        """Keyword construction raises :class:`ConfigError` (``Settings`` reports its own field path)."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc) from exc

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(LEXICAL_FIELDS))
        if unknown or not v:
            raise ValueError(
                f"fields must be a non-empty subset of {', '.join(LEXICAL_FIELDS)}, got {unknown or v}"
            )
        negative = {k: w for k, w in v.items() if not w >= 0}
        if negative:
            raise ValueError(f"field boosts must be >= 0, got {negative}")
        return v

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchConfig:
        """From a mapping (a saved manifest); unknown keys and bad values raise :class:`ConfigError`."""
        try:
            return cls.model_validate(dict(d))
        except ValidationError as exc:
            raise _config_error(exc) from exc


def _config_error(exc: ValidationError) -> ConfigError:
    """The first error of ``exc`` as ``setting 'search.<field>': <why>`` (the ``[search]`` section)."""
    first = exc.errors()[0]
    field = ".".join(["search", *(str(x) for x in first["loc"])])
    if first["type"] == "extra_forbidden":
        return ConfigError(
            f"unknown setting '{field}'",
            value=first.get("input"),
            expected=", ".join(SearchConfig.model_fields),
        )
    return ConfigError(f"setting '{field}': {first['msg']}", value=first.get("input"))
