"""Intent detection: TF-IDF word + character n-gram model, sentence-embedding model, their ensemble.

Three classifiers share one decision rule:

* ``tfidf`` — sublinear TF-IDF over word 1–2-grams (jieba words for Chinese) concatenated with
  character 1–5-grams inside word boundaries (``char_wb``), then multinomial logistic regression
  (L2, ``C``). This is the classical strong baseline for short utterances.
* ``embedding`` — sentence vectors of ``encoder`` (``shopmind.embeddings.get_encoder``; default
  all-MiniLM-L6-v2, ``use-multilingual`` / ``e5-multilingual`` for Chinese), L2 normalised, then
  multinomial logistic regression.
* ``ensemble`` — a linear pool of its members' probabilities, ``p = Σ_m w_m · p_m`` with
  ``w_m ≥ 0, Σ w_m = 1``. Members: ``tfidf``, ``embedding`` (the main encoder), one
  ``embedding:<spec>`` per entry of ``extra_encoders`` (another sentence encoder, its own logistic
  regression), and ``knn`` when the nearest-neighbour head is on.
* optional nearest-neighbour head (``knn_weight = k > 0``, embedding and ensemble models):
  ``p_knn(c | x) = softmax_c(T · max_{i: y_i = c} cos(v(x), v(x_i)))`` over the training vectors. With
  few examples per intent the nearest example carries information the linear head averages away
  (measured in docs/bench/assistant.md).

**Member weights.** By default (``ensemble_weight=None``) the weights are learned per shop: each
member is fitted on the fitting part of every inner fold (the calibration folds below, or
``weight_folds`` stratified 20 % folds when no threshold is calibrated) and predicts the held-out
part; ``w`` is the point of a simplex grid (step 0.05, 0.1 with four or more members) that maximises
the held-out accuracy of the pooled argmax, ties broken by the mean held-out log score
``(1/n) Σ_i log Σ_m w_m p_m(y_i | x_i)`` (``weight_objective="log_score"`` uses the log score alone,
the optimal linear prediction pool of Hall & Mitchell 2007 and Geweke & Amisano 2011) — a form of
stacking (Wolpert 1992; Breiman 1996) restricted to the simplex. Accuracy is the default because the
log score rewards sharp members: a member with diffuse probabilities but good rankings (TF-IDF) gets
almost no weight next to a confident encoder, although the blend's argmax needs it (measurements in
docs/benchmarks.md). A member
that is useless for a shop's language or vocabulary (an English-only encoder on Chinese utterances)
gets a small weight instead of half the vote. A number
for ``ensemble_weight`` fixes the weights instead: ``w_tfidf = ensemble_weight``, ``w_knn =
knn_weight``, the embedding members share the rest equally.

With ``finetune_epochs > 0`` the sentence encoder is first fine-tuned contrastively on the labelled
utterances (SetFit-style, :mod:`shopmind.assistant.finetune`); the tuned copy is saved with the model.
With ``label_examples`` each intent's name (``card_arrival`` → "card arrival") is one more training
example of it, a label-name prior for few-shot data (docs/bench/assistant.md measures it).

**Out of scope.** An utterance is out of scope when its score is below a threshold ``τ``. The score
is ``s(x) = α · max_c p(c | x) + max_i cos(v(x), v(x_i))``: the top probability (maximum softmax
probability, Hendrycks & Gimpel 2017), weighted by ``α`` (``oos_msp_weight``), plus the cosine
similarity to the nearest training utterance (a kNN novelty score), where ``v`` is the sentence
embedding; the TF-IDF-only model uses the top probability alone (TF-IDF neighbours did not help in
a check on the built-in intents); ``oos_score="msp"`` gives the plain rule (docs/bench/assistant.md
compares the two). ``τ`` is calibrated on held-back *in-scope*
data by cross-fitting: ``calibration_folds`` disjoint stratified parts of ``calibration_fraction``
of the training set are each held out in turn, the models are fitted on the rest and score the
held-out part, and ``τ`` is the largest value whose rejection rate has a Clopper–Pearson upper bound
(at ``calibration_confidence``, 90 %) of at most ``max_in_scope_loss`` (3 %) over all held-out scores
pooled (:func:`calibrate_threshold`); the models are then refitted on all data. One held-out split gives a
quantile from a few hundred scores that swings with the split; pooling the folds gives the
split-conformal bound (Vovk et al. 2005; Angelopoulos & Bates 2021) more scores, so the loss on
unseen utterances stays near the budget. With fine-tuning one fold is used (the encoder is tuned on
its fitting part, so the other folds' vectors would not be fresh).

**Artifacts** (no pickle): ``intents.json`` (config, classes, threshold), ``tfidf_word.json`` /
``tfidf_char.json`` (vocabulary), ``tfidf.npz`` (idf vectors, coefficients, intercepts),
``embedding.npz`` (coefficients, intercepts; the encoder is named in ``intents.json``),
``oos_ref.npy`` (training vectors of the nearest-neighbour terms, sorted by intent),
``knn_labels.npy`` (their intents; only with ``knn_weight > 0``), ``encoder/`` (the fine-tuned
sentence-transformers model, safetensors; only with ``finetune_epochs > 0``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopmind.errors import ArtifactError, ConfigError, DataError, Location, NotFittedError
from shopmind.presets import Preset
from shopmind.text_classifier import TfidfLogistic, TfidfParams, fit_logreg, softmax

log = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"
ModelKind = Literal["tfidf", "embedding", "ensemble"]


class IntentConfig(BaseModel):
    """Hyper-parameters of the intent classifier (frozen; round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelKind = "ensemble"
    word_ngram_max: int = Field(default=2, ge=1, le=3)
    char_ngram_min: int = Field(default=1, ge=1, le=5)
    char_ngram_max: int = Field(default=5, ge=1, le=7)
    c_tfidf: float = Field(default=20.0, gt=0)
    c_embedding: float = Field(default=20.0, gt=0)
    ensemble_weight: float | None = Field(
        default=None, ge=0.0, le=1.0, description="fixed weight of the TF-IDF model; None = learned per shop"
    )
    weight_folds: int = Field(
        default=5,
        ge=2,
        le=10,
        description="inner folds that learn the member weights when τ is not calibrated",
    )
    weight_objective: Literal["log_score", "accuracy"] = Field(
        default="accuracy",
        description="held-out criterion of the learned weights (accuracy: ties by log score)",
    )
    extra_encoders: tuple[str, ...] = Field(
        default=(), max_length=4, description="more shopmind.embeddings specs, one ensemble member each"
    )
    calibration_fraction: float = Field(
        default=0.2, ge=0.0, lt=0.5, description="share of each held-out fold (5 × 0.2: every utterance once)"
    )
    calibration_folds: int = Field(
        default=5, ge=1, le=10, description="disjoint held-out folds whose scores calibrate τ together"
    )
    max_in_scope_loss: float = Field(default=0.03, ge=0.0, lt=1.0)
    calibration_confidence: float = Field(
        default=0.9, ge=0.0, lt=1.0, description="probability that the loss budget holds on new utterances"
    )
    refit: bool = True
    max_iter: int = Field(default=2000, ge=10)
    class_weight: Literal["balanced"] | None = None
    solver: Literal["newton-cg", "lbfgs", "saga"] = "newton-cg"
    oos_score: Literal["msp", "msp+knn"] = "msp+knn"
    # α of the msp+knn score: 1 = the plain sum of the two scores (the tuned α is a preset)
    oos_msp_weight: float = Field(default=1.0, ge=0.0, le=10.0)
    encoder: str | None = Field(default=None, description="shopmind.embeddings spec; None = packaged MiniLM")
    finetune_epochs: int = Field(
        default=0, ge=0, le=50, description="contrastive fine-tuning epochs of the encoder; 0 = frozen"
    )
    finetune_batch_size: int = Field(default=32, ge=2, le=256)
    finetune_lr: float = Field(default=5e-5, gt=0, lt=1e-2)
    # The label-name examples and the nearest-neighbour head are off by default (the plain classifier);
    # their few-shot setting (``shopmind evaluate intents --label-names --ensemble-weight 0.25
    # --knn-weight 0.25``) and how it was chosen are in docs/bench/assistant.md.
    knn_weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="weight of the nearest-neighbour head (> 0 turns it on)"
    )
    knn_temperature: float = Field(default=20.0, gt=0.0, le=1000.0)
    label_examples: bool = Field(
        default=False, description="add each intent's name ('card_arrival' → 'card arrival') as an example"
    )
    seed: int = 42

    @classmethod
    def from_presets(cls, presets: Sequence[Preset], **overrides: Any) -> IntentConfig:
        """The ``[intents]`` tables of ``presets`` applied in order, then ``overrides``; a bad value
        raises :class:`ConfigError` naming the preset file (or ``overrides``) and the key."""
        merged: dict[str, Any] = {}
        for preset in presets:
            _check_intents(f"{preset.path}: [intents]", preset.intents)
            merged.update(preset.intents)
        _check_intents("intent options", {**merged, **overrides})
        return cls.model_validate({**merged, **overrides})


def _check_intents(where: str, table: dict[str, Any]) -> None:
    try:
        IntentConfig.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{where}: '{key}': {first['msg']}", value=first.get("input")) from exc


@dataclass(frozen=True)
class IntentPrediction:
    """The decision for one utterance: ``intent`` is ``out_of_scope`` below the threshold."""

    intent: str
    confidence: float
    in_scope: bool
    top: list[tuple[str, float]] = field(default_factory=list)
    oos_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "in_scope": self.in_scope,
            "oos_score": self.oos_score,
            "top": [[c, p] for c, p in self.top],
        }


def calibrate_threshold(in_scope_scores: np.ndarray, max_loss: float, confidence: float = 0.0) -> float:
    """Largest ``τ`` rejecting at most ``m`` of the held-out in-scope scores.

    With sorted scores ``s_1 ≤ … ≤ s_n``, ``τ = s_{m+1}`` rejects exactly the ``m`` lowest (ties at
    ``τ`` are kept). ``confidence`` 0: ``m = ⌊max_loss · n⌋`` (the loss on these scores is at most the
    budget). ``confidence`` 1 − δ > 0: ``m`` is the largest count whose one-sided Clopper–Pearson upper
    bound of the rejection rate is ≤ ``max_loss`` — the budget then holds on new in-scope utterances
    with probability ≥ 1 − δ, not only on average (risk-controlling thresholds, Bates et al. 2021).
    """
    s = np.sort(np.asarray(in_scope_scores, dtype=np.float64))
    if s.size == 0:
        return 0.0
    m = int(np.floor(max_loss * s.size + 1e-9))
    if confidence > 0 and m > 0:
        from scipy.stats import beta

        k = np.arange(m + 1)
        upper = beta.ppf(confidence, k + 1, s.size - k)  # Clopper–Pearson bound after k rejections
        ok = np.flatnonzero(upper <= max_loss)
        m = int(ok[-1]) if ok.size else 0
    return float(s[min(m, s.size - 1)]) if m > 0 else float(s[0])


def _tfidf_params(cfg: IntentConfig) -> TfidfParams:
    return TfidfParams(
        word_ngram_max=cfg.word_ngram_max,
        char_ngram_min=cfg.char_ngram_min,
        char_ngram_max=cfg.char_ngram_max,
        c=cfg.c_tfidf,
        max_iter=cfg.max_iter,
        class_weight=cfg.class_weight,
        solver=cfg.solver,
    )


class _EmbeddingModel:
    """Logistic regression on one sentence encoder's vectors (``spec``; file ``<stem>.npz``)."""

    def __init__(
        self, cfg: IntentConfig, encoder: Any = None, spec: str | None = None, stem: str = "embedding"
    ) -> None:
        self.cfg = cfg
        self.spec = cfg.encoder if stem == "embedding" else spec
        self.stem = stem
        self._encoder = encoder
        self.w: np.ndarray | None = None
        self.b: np.ndarray | None = None
        self.finetuned = False

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            from shopmind.embeddings import get_encoder

            self._encoder = get_encoder(self.spec)
        return self._encoder

    def features(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(texts))

    def finetune(self, texts: Sequence[str], y: np.ndarray) -> None:
        """Replace the encoder by a copy fine-tuned on ``(texts, y)`` (:mod:`shopmind.assistant.finetune`)."""
        from shopmind.assistant.finetune import finetune_encoder
        from shopmind.embeddings import SentenceTransformerEncoder, local_model

        local = local_model(self.cfg.encoder)
        if local is None or not local[0].is_dir():
            raise ConfigError(
                "only a local sentence-transformers model can be fine-tuned",
                value=self.cfg.encoder,
                expected="encoder=None (packaged MiniLM), 'mpnet' or a model directory, or finetune_epochs=0",
            )
        base = local[0]
        model = finetune_encoder(
            base,
            texts,
            y,
            epochs=self.cfg.finetune_epochs,
            batch_size=self.cfg.finetune_batch_size,
            lr=self.cfg.finetune_lr,
            seed=self.cfg.seed,
        )
        self._encoder = SentenceTransformerEncoder.from_model(model, name=f"{base.name}-intents")
        self.finetuned = True

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.w, self.b = fit_logreg(
            x, y, n_classes, self.cfg.c_embedding, self.cfg.max_iter, self.cfg.class_weight, self.cfg.solver
        )

    def proba(self, x: np.ndarray) -> np.ndarray:
        if self.w is None or self.b is None:
            raise NotFittedError("the embedding intent model is not fitted")
        return softmax(x.astype(np.float64) @ self.w.T.astype(np.float64) + self.b)

    def save(self, path: Path) -> None:
        assert self.w is not None and self.b is not None
        np.savez_compressed(path / f"{self.stem}.npz", w=self.w, b=self.b)
        if self.finetuned:
            self.encoder.model.save(str(path / "encoder"))

    def load(self, path: Path) -> None:
        arrays = np.load(path / f"{self.stem}.npz")
        self.w, self.b = arrays["w"], arrays["b"]
        if self.cfg.finetune_epochs and self.stem == "embedding":
            from shopmind.embeddings import load_local_encoder

            if not (path / "encoder").is_dir():
                raise ArtifactError("fine-tuned intent encoder missing", value=str(path / "encoder"))
            # the shop's own fine-tuned encoder, never the shared one passed in
            self._encoder = load_local_encoder(path / "encoder")
            self.finetuned = True


class IntentClassifier:
    """Intent classifier with an explicit out-of-scope decision (see module docstring).

    >>> clf = IntentClassifier(IntentConfig(model="tfidf")).fit(texts, intents)   # doctest: +SKIP
    >>> clf.predict(["where is my parcel"])[0].intent                              # doctest: +SKIP
    'track'
    """

    def __init__(
        self,
        config: IntentConfig | None = None,
        *,
        encoder: Any = None,
        extra_encoders: Sequence[Any] | None = None,
    ) -> None:
        """``encoder`` / ``extra_encoders``: encoder objects to use instead of loading
        ``config.encoder`` / ``config.extra_encoders`` (same order and length)."""
        self.config = config or IntentConfig()
        cfg = self.config
        self.classes_: list[str] = []
        self.threshold: float = 0.0
        self.calibration: dict[str, Any] = {}
        self._tfidf = TfidfLogistic(_tfidf_params(cfg)) if cfg.model != "embedding" else None
        self._emb = _EmbeddingModel(cfg, encoder) if cfg.model != "tfidf" else None
        if extra_encoders is not None and len(extra_encoders) != len(cfg.extra_encoders):
            raise ConfigError(
                "extra encoder objects differ from the configured extra encoders",
                value=len(extra_encoders),
                expected=f"{len(cfg.extra_encoders)} (extra_encoders={list(cfg.extra_encoders)})",
            )
        objs = list(extra_encoders) if extra_encoders is not None else [None] * len(cfg.extra_encoders)
        self._extra = (
            [
                _EmbeddingModel(cfg, obj, spec, f"embedding_{i + 1}")
                for i, (spec, obj) in enumerate(zip(cfg.extra_encoders, objs, strict=True))
            ]
            if cfg.model != "tfidf"
            else []
        )
        self._ref: Any = None  # training vectors (sorted by intent) for the nearest-neighbour terms
        self._ref_y: np.ndarray | None = None  # their intents, for the nearest-neighbour head
        if cfg.knn_weight > 0 and cfg.model == "tfidf":
            raise ConfigError(
                "the nearest-neighbour head needs sentence vectors", expected="model != 'tfidf'"
            )
        if (
            cfg.model == "ensemble"
            and cfg.ensemble_weight is not None
            and cfg.ensemble_weight + cfg.knn_weight > 1
        ):
            raise ConfigError(
                "ensemble_weight + knn_weight exceed 1",
                value=(cfg.ensemble_weight, cfg.knn_weight),
                expected="a sum <= 1 (the embedding model gets the rest)",
            )
        self.weights_: dict[str, float] = self._initial_weights()

    def members(self) -> list[str]:
        """The ensemble's members in pool order: ``tfidf``, ``embedding``, ``embedding:<spec>``…, ``knn``."""
        out = ["tfidf"] if self._tfidf is not None else []
        if self._emb is not None:
            out.append("embedding")
            out += [f"embedding:{m.spec}" for m in self._extra]
            if self.config.knn_weight > 0:
                out.append("knn")
        return out

    def _initial_weights(self) -> dict[str, float]:
        """Fixed weights (``ensemble_weight`` set), else equal weights until :meth:`fit` learns them."""
        names = self.members()
        cfg = self.config
        if cfg.ensemble_weight is None:
            return {m: 1.0 / len(names) for m in names}
        w_t = (cfg.ensemble_weight if cfg.model == "ensemble" else 0.0) if "tfidf" in names else 0.0
        if names == ["tfidf"]:
            return {"tfidf": 1.0}
        w_k = cfg.knn_weight if "knn" in names else 0.0
        emb = [m for m in names if m.startswith("embedding")]
        out = {m: (1.0 - w_t - w_k) / len(emb) for m in emb}
        if "tfidf" in names:
            out = {"tfidf": w_t, **out}
        if "knn" in names:
            out["knn"] = w_k
        return out

    # --- training -----------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        intents: Sequence[str],
        *,
        embeddings: np.ndarray | None = None,
    ) -> IntentClassifier:
        """Fit on labelled utterances; ``embeddings`` may pass precomputed encoder vectors (same order).

        With ``finetune_epochs > 0`` the encoder is first fine-tuned on the fitting part (the
        calibration utterances stay unseen by it, so ``τ`` is calibrated on fresh vectors), and
        ``embeddings`` from the frozen encoder are ignored.
        """
        texts = [str(t) for t in texts]
        if len(texts) != len(intents):
            raise DataError("texts and intents differ in length", value=(len(texts), len(intents)))
        if not texts:
            raise DataError("no training utterances", expected="at least two intents with examples")
        if OUT_OF_SCOPE in set(intents):
            raise DataError(
                f"'{OUT_OF_SCOPE}' is reserved for the threshold decision; drop those rows from training",
                value=OUT_OF_SCOPE,
            )
        self.classes_ = sorted(set(intents))
        index = {c: i for i, c in enumerate(self.classes_)}
        y = np.array([index[c] for c in intents], dtype=np.int64)
        cfg = self.config
        learn = cfg.ensemble_weight is None and len(self.members()) > 1
        folds = self._calibration_folds(y, cfg.calibration_fraction, cfg.calibration_folds)
        calibrate = bool(folds)
        if not folds and learn:  # no threshold to calibrate: inner folds for the weights alone
            folds = self._calibration_folds(y, 0.2, cfg.weight_folds)
        self.weights_ = self._initial_weights()
        if self.config.label_examples:
            texts, y, embeddings, folds = self._add_label_examples(texts, y, embeddings, folds)
        emb = None
        if self._emb is not None:
            if self.config.finetune_epochs:
                folds = folds[:1]
                tune_idx = folds[0][0] if folds else np.arange(len(texts))
                self._emb.finetune([texts[i] for i in tune_idx], y[tune_idx])
                embeddings = None
            emb = embeddings if embeddings is not None else self._emb.features(texts)
            if emb.shape[0] != len(texts):
                raise DataError(
                    "embeddings rows differ from texts", value=emb.shape[0], expected=str(len(texts))
                )
        extra = [m.features(texts) for m in self._extra]

        self.threshold = 0.0
        self.calibration = {"held_out": 0, "threshold": 0.0}
        if folds:
            parts: dict[str, list[np.ndarray]] = {m: [] for m in self.members()}
            sims: list[np.ndarray] = []
            held_y: list[np.ndarray] = []
            for fit_idx, hold_idx in folds:
                self._fit_models(texts, y, emb, extra, fit_idx)
                hold_texts = [texts[i] for i in hold_idx]
                hold_emb = emb[hold_idx] if emb is not None else None
                comp = self._components(hold_texts, hold_emb, [x[hold_idx] for x in extra])
                for m in parts:
                    parts[m].append(comp[m])
                sim = self._nn_similarity(hold_texts, hold_emb)
                if sim is not None:
                    sims.append(sim)
                held_y.append(y[hold_idx])
            yh = np.concatenate(held_y)
            probs = {m: np.concatenate(v) for m, v in parts.items()}
            if learn:
                self.weights_ = learn_pool_weights(probs, yh, objective=cfg.weight_objective)
                log.info(
                    "intent ensemble weights learned on %d held-out utterances: %s", yh.size, self.weights_
                )
            blend = sum(self.weights_[m] * p for m, p in probs.items())
            assert isinstance(blend, np.ndarray)
            if calibrate:
                conf = self._combine_oos(blend, np.concatenate(sims) if sims else None)
                self.threshold = calibrate_threshold(conf, cfg.max_in_scope_loss, cfg.calibration_confidence)
                self.calibration = {
                    "held_out": int(conf.size),
                    "folds": len(folds),
                    "threshold": self.threshold,
                    "held_out_accuracy": float((blend.argmax(axis=1) == yh).mean()),
                    "in_scope_loss": float((conf < self.threshold).mean()),
                }
                log.info(
                    "intent threshold %.4f calibrated on %d held-out utterances in %d folds",
                    self.threshold,
                    conf.size,
                    len(folds),
                )
            if learn:
                self.calibration["weight_folds"] = len(folds)
                self.calibration["weights_held_out_accuracy"] = float((blend.argmax(axis=1) == yh).mean())
            if cfg.refit or len(folds) > 1 or not calibrate:
                self._fit_models(texts, y, emb, extra, np.arange(len(texts)))
        else:
            self._fit_models(texts, y, emb, extra, np.arange(len(texts)))
        return self

    def _add_label_examples(
        self,
        texts: list[str],
        y: np.ndarray,
        embeddings: np.ndarray | None,
        folds: list[tuple[np.ndarray, np.ndarray]],
    ) -> tuple[list[str], np.ndarray, np.ndarray | None, list[tuple[np.ndarray, np.ndarray]]]:
        """Append each intent's humanised name as one more example of it (fitting part only).

        A name such as ``card_arrival`` is a compact description of its intent; as an extra example
        it acts like a label-name prior for few-shot data. The names never enter the calibration
        part, so ``τ`` is still set on real utterances only.
        """
        names = [humanise_intent(c) for c in self.classes_]
        extra = np.arange(len(texts), len(texts) + len(names))
        if embeddings is not None and self._emb is not None and not self.config.finetune_epochs:
            embeddings = np.concatenate([embeddings, self._emb.features(names)])
        folds = [(np.concatenate([fit, extra]), hold) for fit, hold in folds]
        return texts + names, np.concatenate([y, np.arange(len(names))]), embeddings, folds

    def _calibration_folds(
        self, y: np.ndarray, frac: float | None = None, n_folds: int | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Up to ``n_folds`` (default ``calibration_folds``) disjoint ``(fit, held-out)`` index pairs.

        Each intent with ≥ 2 examples is shuffled once and cut into consecutive held-out slices of
        ``frac`` (default ``calibration_fraction``) of its examples (at least one; never all of
        them); an intent runs out of slices before the folds do when it is small. No folds without a
        fraction.
        """
        frac = self.config.calibration_fraction if frac is None else frac
        n_folds = self.config.calibration_folds if n_folds is None else n_folds
        if frac <= 0:
            return []
        rng = np.random.default_rng(self.config.seed)
        holds: list[list[np.ndarray]] = [[] for _ in range(n_folds)]
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            if idx.size < 2:
                continue
            n = max(1, round(frac * idx.size))
            for f, part in enumerate(holds):
                piece = idx[f * n : (f + 1) * n]  # n ≤ half the examples: never all of them
                if piece.size:
                    part.append(piece)
        folds = []
        for part in holds:
            if part:
                hold_idx = np.sort(np.concatenate(part))
                folds.append((np.setdiff1d(np.arange(y.size), hold_idx), hold_idx))
        return folds

    def _fit_models(
        self,
        texts: list[str],
        y: np.ndarray,
        emb: np.ndarray | None,
        extra: list[np.ndarray],
        idx: np.ndarray,
    ) -> None:
        n_classes = len(self.classes_)
        if self._tfidf is not None:
            sub = [texts[i] for i in idx]
            self._tfidf.fit_features(sub)
            self._tfidf.fit(self._tfidf.features(sub), y[idx], n_classes)
        if self._emb is not None:
            assert emb is not None
            self._emb.fit(emb[idx], y[idx], n_classes)
        for model, x in zip(self._extra, extra, strict=True):
            model.fit(x[idx], y[idx], n_classes)
        if emb is not None and (self.config.oos_score == "msp+knn" or self.config.knn_weight > 0):
            order = np.argsort(y[idx], kind="stable")  # grouped by intent for the head's per-intent max
            self._ref = np.ascontiguousarray(emb[idx][order], dtype=np.float32)
            self._ref_y = y[idx][order] if self.config.knn_weight > 0 else None

    def _nn_similarity(self, texts: Sequence[str], emb: np.ndarray | None) -> np.ndarray | None:
        """Cosine to the nearest training utterance (``msp+knn`` score only; else None)."""
        if self.config.oos_score != "msp+knn" or self._ref is None:
            return None
        q = emb if emb is not None else self._emb.features(texts)  # type: ignore[union-attr]
        return (np.asarray(q, dtype=np.float32) @ self._ref.T).max(axis=1)

    def _combine_oos(self, proba: np.ndarray, sim: np.ndarray | None) -> np.ndarray:
        """``max p``, or ``α · max p`` + nearest-training-neighbour cosine with ``oos_score="msp+knn"``."""
        msp = proba.max(axis=1)
        return msp if sim is None else self.config.oos_msp_weight * msp + sim

    def _oos_scores(self, texts: Sequence[str], emb: np.ndarray | None, proba: np.ndarray) -> np.ndarray:
        return self._combine_oos(proba, self._nn_similarity(texts, emb))

    def _knn_proba(self, emb: np.ndarray) -> np.ndarray:
        """``softmax_c(T · max cos to intent c's training vectors)``; intents without vectors get 0."""
        if self._ref is None or self._ref_y is None:
            raise NotFittedError("the nearest-neighbour head is not fitted")
        sims = np.asarray(emb, dtype=np.float32) @ self._ref.T
        starts = np.flatnonzero(np.r_[True, self._ref_y[1:] != self._ref_y[:-1]])
        z = np.full((sims.shape[0], len(self.classes_)), -np.inf)
        z[:, self._ref_y[starts]] = np.maximum.reduceat(sims, starts, axis=1)  # per-intent max
        return softmax(self.config.knn_temperature * z)

    # --- inference ----------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray | None:
        """The classifier's own sentence vectors for ``texts`` (``None`` for the TF-IDF-only model)."""
        return self._emb.features([str(t) for t in texts]) if self._emb is not None else None

    def _components(
        self,
        texts: Sequence[str],
        emb: np.ndarray | None = None,
        extra: Sequence[np.ndarray | None] | None = None,
        skip_zero: bool = False,
    ) -> dict[str, np.ndarray]:
        """Each member's probabilities; ``skip_zero`` leaves out members whose weight is 0 (no encoding)."""
        want = [m for m in self.members() if not (skip_zero and self.weights_.get(m, 0.0) == 0.0)]
        out: dict[str, np.ndarray] = {}
        if "tfidf" in want:
            assert self._tfidf is not None
            out["tfidf"] = self._tfidf.proba(self._tfidf.features(texts))
        if self._emb is not None and ("embedding" in want or "knn" in want):
            e = emb if emb is not None else self._emb.features(texts)
            if "embedding" in want:
                out["embedding"] = self._emb.proba(e)
            if "knn" in want:
                out["knn"] = self._knn_proba(e)
        for i, model in enumerate(self._extra):
            name = f"embedding:{model.spec}"
            if name in want:
                x = extra[i] if extra is not None else None
                out[name] = model.proba(x if x is not None else model.features(texts))
        return out

    def _proba(self, texts: Sequence[str], emb: np.ndarray | None = None) -> np.ndarray:
        parts = self._components(texts, emb, skip_zero=True)
        return sum(self.weights_[m] * p for m, p in parts.items())  # type: ignore[return-value]

    def component_proba(
        self, texts: Sequence[str], *, embeddings: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Each member's own probabilities (``tfidf``, ``embedding``, ``embedding:<spec>``, ``knn``),
        for ablation reports; the ensemble is ``Σ weights_[m] · p_m``."""
        return self._components([str(t) for t in texts], embeddings)

    def predict_proba(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities ``[n, n_classes]`` in the order of ``classes_``."""
        if not self.classes_:
            raise NotFittedError("the intent classifier is not fitted", expected="fit() or load()")
        return self._proba([str(t) for t in texts], embeddings)

    def predict(
        self, texts: Sequence[str], *, embeddings: np.ndarray | None = None, top: int = 3
    ) -> list[IntentPrediction]:
        """Decisions with out-of-scope handling (``intent == "out_of_scope"`` below the threshold)."""
        texts = [str(t) for t in texts]
        if embeddings is None and self._emb is not None:
            embeddings = self._emb.features(texts)  # encode once for the classifier and the OOS score
        p = self.predict_proba(texts, embeddings=embeddings)
        oos = self._oos_scores(texts, embeddings, p)
        out = []
        for row, score in zip(p, oos, strict=True):
            order = np.argsort(-row)[:top]
            best = float(row[order[0]])
            in_scope = bool(score >= self.threshold)
            out.append(
                IntentPrediction(
                    intent=self.classes_[order[0]] if in_scope else OUT_OF_SCOPE,
                    confidence=best,
                    in_scope=in_scope,
                    top=[(self.classes_[i], float(row[i])) for i in order],
                    oos_score=float(score),
                )
            )
        return out

    def predict_one(self, text: str) -> IntentPrediction:
        return self.predict([text])[0]

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        if not self.classes_:
            raise NotFittedError("cannot save an unfitted intent classifier")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": 1,
            "config": self.config.model_dump(),
            "classes": self.classes_,
            "threshold": self.threshold,
            "calibration": self.calibration,
            "weights": self.weights_,
        }
        (path / "intents.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        if self._tfidf is not None:
            self._tfidf.save(path)
        if self._emb is not None:
            self._emb.save(path)
        for model in self._extra:
            model.save(path)
        if self._ref is not None:
            np.save(path / "oos_ref.npy", self._ref, allow_pickle=False)
        if self._ref_y is not None:
            np.save(path / "knn_labels.npy", self._ref_y, allow_pickle=False)
        return path

    @classmethod
    def load(
        cls, path: str | Path, *, encoder: Any = None, extra_encoders: Sequence[Any] | None = None
    ) -> IntentClassifier:
        path = Path(path)
        meta_file = path / "intents.json"
        if not meta_file.exists():
            raise ArtifactError("intent model not found", value=str(meta_file))
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != 1:
            raise ArtifactError("unsupported intent model format", value=meta.get("format"), expected="1")
        try:
            # models saved before α existed were calibrated with α = 1
            config = IntentConfig.model_validate({"oos_msp_weight": 1.0, **meta["config"]})
        except Exception as exc:
            raise ConfigError(f"{meta_file}: invalid intent config: {exc}") from exc
        self = cls(config, encoder=encoder, extra_encoders=extra_encoders)
        self.classes_ = list(meta["classes"])
        if "weights" in meta:  # older models: the fixed weights of their config
            weights = {str(k): float(v) for k, v in meta["weights"].items()}
            if set(weights) != set(self.members()):
                raise ArtifactError(
                    "intent ensemble weights do not match its members",
                    value=sorted(weights),
                    expected=str(self.members()),
                )
            self.weights_ = weights
        self.threshold = float(meta["threshold"])
        self.calibration = dict(meta.get("calibration", {}))
        try:
            if self._tfidf is not None:
                self._tfidf.load(path)
            if self._emb is not None:
                self._emb.load(path)
            for model in self._extra:
                model.load(path)
            if (path / "oos_ref.npy").exists():
                self._ref = np.load(path / "oos_ref.npy", allow_pickle=False)
            if config.knn_weight > 0:
                self._ref_y = np.load(path / "knn_labels.npy", allow_pickle=False)
        except (OSError, KeyError) as exc:
            raise ArtifactError(f"incomplete intent model in {path}: {exc}") from exc
        return self


def simplex_grid(n_members: int, step: float) -> np.ndarray:
    """All weight vectors ``[G, n_members]`` with entries in multiples of ``step`` summing to 1
    (stars and bars: ``C(K + M − 1, M − 1)`` points for ``K = 1/step``)."""
    from itertools import combinations

    k = round(1.0 / step)
    rows = []
    for bars in combinations(range(k + n_members - 1), n_members - 1):
        edges = (-1, *bars, k + n_members - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_members)])
    return np.asarray(rows, dtype=np.float64) / k


def learn_pool_weights(
    probs: dict[str, np.ndarray],
    y: np.ndarray,
    step: float | None = None,
    objective: Literal["log_score", "accuracy"] = "log_score",
) -> dict[str, float]:
    """Weights of the linear pool ``Σ_m w_m p_m`` maximising the mean log score on held-out rows.

    ``probs[m]`` is member ``m``'s ``[n, n_classes]`` held-out probabilities, ``y`` the true class
    indices. Only ``p_m(y_i | x_i)`` matters, so the score of every grid point is one matrix product:
    ``mean_i log (W P_y)`` with ``W`` the :func:`simplex_grid` (step 0.05 for up to three members,
    0.1 above) and ``P_y[m, i] = p_m(y_i | x_i)`` (Hall & Mitchell 2007, "Combining density forecasts").
    ``objective="accuracy"``: the held-out accuracy of the pooled argmax instead, ties broken by the
    log score (the log score favours sharp members: a diffuse but well-ranking TF-IDF member can
    get little weight under it). The first best grid point wins a remaining tie.
    """
    names = list(probs)
    if not names:
        raise DataError("no ensemble members to weigh", expected="at least one member's probabilities")
    y = np.asarray(y, dtype=np.int64)
    if len(names) == 1:
        return {names[0]: 1.0}
    rows = np.arange(y.size)
    p_y = np.stack([np.asarray(probs[m], dtype=np.float64)[rows, y] for m in names])
    grid = simplex_grid(len(names), step or (0.05 if len(names) <= 3 else 0.1))
    score = np.log(np.maximum(grid @ p_y, 1e-300)).mean(axis=1)
    if objective == "accuracy":
        stack = np.stack([np.asarray(probs[m], dtype=np.float64) for m in names])  # [M, n, C]
        acc = np.empty(len(grid))
        for g, w in enumerate(grid):  # one pooled argmax per grid point (a few hundred points)
            acc[g] = (np.tensordot(w, stack, axes=1).argmax(axis=1) == y).mean()
        # accuracy first; the log score (< 0, spread far below 1/n) only orders equal accuracies
        score = acc + 1e-9 * (score - score.min()) / max(float(np.ptp(score)), 1e-12)
    best = grid[int(np.argmax(score))]
    return {m: round(float(w), 6) for m, w in zip(names, best, strict=True)}


def humanise_intent(name: str) -> str:
    """``'card_arrival'`` → ``'card arrival'``: identifier separators become spaces."""
    return re.sub(r"[_\-.]+", " ", name).strip() or name


def read_intent_csv(path: str | Path) -> tuple[list[str], list[str]]:
    """Read a ``text,intent`` CSV (BANKING77's ``text,category`` is accepted too)."""
    path = Path(path)
    if not path.exists():
        raise DataError("intent file not found", value=str(path))
    import csv

    from shopmind.datasets._io import read_table

    frame = read_table(path, sep=",", quoting=csv.QUOTE_MINIMAL)  # a ragged line raises with its number
    label_col = next((c for c in ("intent", "category", "label") if c in frame.columns), None)
    text_col = next((c for c in ("text", "instruction", "utterance") if c in frame.columns), None)
    if label_col is None or text_col is None:
        raise DataError(
            "missing columns",
            value=list(frame.columns),
            expected="text,intent (or text,category)",
            location=Location(str(path), 1),
        )
    frame = frame[(frame[text_col].str.strip() != "") & (frame[label_col].str.strip() != "")]
    return frame[text_col].tolist(), frame[label_col].tolist()
