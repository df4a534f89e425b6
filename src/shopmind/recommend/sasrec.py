"""SASRec — self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

A user is the sequence of their last ``max_len`` items ``s_1 … s_n`` (left-padded with 0). Each position
gets ``E[s_t]·√d + P[t]`` (learned positional embeddings), then ``blocks`` pre-norm Transformer layers
with causal self-attention (position ``t`` sees ``1..t`` only) and a point-wise feed-forward network,
then a final LayerNorm. The hidden state ``F_t`` predicts the next item by a dot product with the
(shared) item embeddings: ``r_{t,i} = F_t · E[i]``.

Training objectives (``loss``):

* ``"bce"`` — the paper's: binary cross-entropy of the true next item against one uniformly sampled
  negative per position;
* ``"ce"`` — full softmax cross-entropy over all items at every position (Klenitskiy & Vasilev,
  *Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?*, RecSys 2023: much stronger);
* ``"sampled_ce"`` — softmax over the true item and ``negatives`` uniformly sampled items shared by the
  batch (a CPU-friendly approximation of ``"ce"``; uniform sampling needs no logQ correction).

``ce_epochs > 0`` adds a second phase: that many full-softmax epochs after the first ``epochs``
(:meth:`SASRec.fine_tune`). A cheap sampled-softmax phase does most of the learning and a few costly
full-softmax epochs sharpen it (the ``[positions, n_items]`` logits dominate a CPU epoch; only the hidden
states of real, non-padded positions reach the output projection). ``epoch_callback`` lets a caller
score a validation split after each epoch and stop early.

Scoring uses the last position's hidden state; :meth:`SASRec.score_sequences` scores any new sequence
(real-time fold-in of a session without retraining).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError, NotFittedError
from shopmind.recommend.base import AlgorithmConfig, Recommender
from shopmind.recommend.neumf import _load_module, _torch
from shopmind.recommend.registry import register

log = logging.getLogger(__name__)


class SASRecConfig(AlgorithmConfig):
    """SASRec hyper-parameters.

    The defaults are the paper's (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM
    2018): 2 blocks, 1 head, 50 items, learning rate 0.001, batch 128, dropout 0.5 (its setting for
    sparse data), with d = 64 and a CPU training budget of 30 epochs. Configurations tuned on a data set
    are presets (:mod:`shopmind.presets`).
    """

    max_len: int = Field(50, ge=2, le=1024)
    hidden: int = Field(64, ge=8, le=1024)
    heads: int = Field(1, ge=1, le=16)
    blocks: int = Field(2, ge=1, le=12)
    dropout: float = Field(0.5, ge=0, lt=1)
    epochs: int = Field(30, ge=1, le=1000)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    loss: Literal["bce", "ce", "sampled_ce"] = "sampled_ce"
    negatives: int = Field(512, ge=1, description="shared negatives per batch for sampled_ce")
    ce_epochs: int = Field(
        0, ge=0, le=1000, description="then this many full-softmax epochs (fine-tuning); see fine_tune"
    )
    event_types: tuple[str, ...] | None = Field(
        None, description="event types forming the sequence (None = all)"
    )


def _build_module(torch, n_items: int, cfg: SASRecConfig):
    nn = torch.nn

    class _SASRec(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d = cfg.hidden
            self.item = nn.Embedding(n_items + 1, d, padding_idx=0)  # index 0 = padding
            self.pos = nn.Embedding(cfg.max_len, d)
            self.drop = nn.Dropout(cfg.dropout)
            layer = nn.TransformerEncoderLayer(
                d, cfg.heads, dim_feedforward=d, dropout=cfg.dropout, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, cfg.blocks, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            nn.init.normal_(self.item.weight, std=1.0 / math.sqrt(d))
            with torch.no_grad():
                self.item.weight[0].zero_()
            self.register_buffer(
                "causal", torch.triu(torch.ones(cfg.max_len, cfg.max_len, dtype=torch.bool), diagonal=1)
            )

        def forward(self, seq):  # [b, L] (0 = pad) → [b, L, d]
            L = seq.shape[1]
            x = self.item(seq) * math.sqrt(self.item.embedding_dim)
            x = x + self.pos.weight[-L:][None]
            pad = seq == 0
            x = self.drop(x) * (~pad).unsqueeze(-1)
            # Causal AND no attention to padding keys, so a user's scores do not depend on how much
            # padding their batch needs; every position may see itself, so no row is fully masked (NaN).
            blocked = self.causal[-L:, -L:][None] | pad[:, None, :]
            blocked = blocked & ~torch.eye(L, dtype=torch.bool)[None]
            mask = blocked.repeat_interleave(cfg.heads, dim=0)
            h = self.encoder(x, mask=mask)
            return self.norm(h) * (~pad).unsqueeze(-1)

    return _SASRec()


def pad_sequences(seqs: Sequence[np.ndarray], max_len: int, shift: int = 1) -> np.ndarray:
    """``int64[n, max_len]``: the last ``max_len`` items of each sequence (+``shift``), left-padded with 0."""
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = np.asarray(s, dtype=np.int64)[-max_len:]
        if len(s):
            out[r, max_len - len(s) :] = s + shift
    return out


def _length_buckets(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar-length sequences (random within a length), in random batch order.

    Sorting by length before batching keeps padding (and so wasted attention) small; the random
    tie-break and the shuffled batch order keep the gradient noise of plain shuffling.
    """
    order = np.lexsort((rng.random(len(lengths)), lengths))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[j] for j in rng.permutation(len(batches))]


@register
class SASRec(Recommender):
    """SASRec over each user's time-ordered item sequence; see the module docstring."""

    name = "sasrec"
    uses_torch = True
    Config = SASRecConfig
    config: SASRecConfig
    epoch_callback: Callable[[SASRec, int], bool] | None = None
    """Called after each epoch as ``callback(model, epoch)`` with the model ready to score (eval mode);
    returning True stops training (early stopping on a validation metric is the caller's business:
    the model only ever sees its training ``Dataset``)."""

    def _fit(self, dataset: Dataset) -> None:
        torch = _torch(self.runtime.threads)
        torch.manual_seed(self.runtime.seed)
        cfg = self.config
        self._user_seqs = pad_sequences(dataset.sequences(cfg.event_types), cfg.max_len)  # for score_users
        self.module = _build_module(torch, self.n_items, cfg)
        self._train(dataset, cfg.loss, cfg.epochs, np.random.default_rng(self.runtime.seed))
        if cfg.ce_epochs:
            self.fine_tune(dataset, cfg.ce_epochs)

    def fine_tune(self, dataset: Dataset, epochs: int, loss: str = "ce") -> None:
        """Continue training the fitted network for ``epochs`` more epochs with ``loss`` (default: full
        softmax), with a fresh Adam optimiser and a generator seeded ``seed + 1``.

        ``fit`` runs this after its first phase when ``ce_epochs > 0``, so fine-tuning a saved first-phase
        model reproduces the two-phase ``fit`` (up to floating-point summation order).
        """
        if getattr(self, "module", None) is None:
            raise NotFittedError("sasrec is not fitted", expected="fit(dataset) or load(dir) first")
        if dataset.n_items != self.n_items:
            raise ConfigError(
                "dataset items differ from the model's", value=dataset.n_items, expected=str(self.n_items)
            )
        if loss not in ("bce", "ce", "sampled_ce"):
            raise ConfigError("unknown SASRec loss", value=loss, expected="bce, ce or sampled_ce")
        self._user_seqs = pad_sequences(dataset.sequences(self.config.event_types), self.config.max_len)
        self._train(dataset, loss, epochs, np.random.default_rng(self.runtime.seed + 1))

    def _train(self, dataset: Dataset, loss_name: str, epochs: int, rng: np.random.Generator) -> None:
        torch = _torch(self.runtime.threads)
        cfg = self.config
        seqs = dataset.sequences(cfg.event_types)
        # inputs s_1..s_{n-1} predict targets s_2..s_n; keep users with at least one transition.
        trainable = [s for s in seqs if len(s) >= 2]
        inputs = pad_sequences([s[:-1] for s in trainable], cfg.max_len)
        targets = pad_sequences([s[1:] for s in trainable], cfg.max_len)
        opt = torch.optim.Adam(
            self.module.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay
        )
        lengths = (inputs > 0).sum(axis=1)
        self.module.train()
        for epoch in range(epochs):
            total, count = 0.0, 0
            for idx in _length_buckets(lengths, cfg.batch_size, rng):
                # Left padding: a batch only needs its longest sequence's columns (most are short).
                width = max(int(lengths[idx].max()), 1)
                seq = torch.from_numpy(inputs[idx, -width:])
                tgt = torch.from_numpy(targets[idx, -width:])
                valid = tgt > 0
                # Hidden states of real positions only: the [m, n_items] logits of the full softmax
                # are the cost, so padded positions must never reach the output projection.
                h = self.module(seq)[valid]
                pos = tgt[valid]
                loss = self._loss(torch, loss_name, h, pos, rng)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(pos)
                count += len(pos)
            log.debug("sasrec %s epoch %d/%d loss %.4f", loss_name, epoch + 1, epochs, total / max(count, 1))
            if self.epoch_callback is not None:
                self.module.eval()
                self._infer = None
                self._fitted = True  # so the callback may score through the public methods
                if self.epoch_callback(self, epoch + 1):
                    break
                self.module.train()
        self.module.eval()
        self._infer = None

    def _loss(self, torch, loss_name: str, h, pos, rng: np.random.Generator):
        F = torch.nn.functional
        emb = self.module.item.weight
        cfg = self.config
        if loss_name == "ce":
            logits = h @ emb[1:].T
            return F.cross_entropy(logits, pos - 1)
        if loss_name == "sampled_ce":
            neg = torch.from_numpy(rng.integers(1, self.n_items + 1, size=cfg.negatives))
            pos_logit = (h * emb[pos]).sum(-1, keepdim=True)
            neg_logit = h @ emb[neg].T
            # A sampled "negative" equal to the target would be a false negative: mask it out.
            neg_logit = neg_logit.masked_fill(neg[None, :] == pos[:, None], float("-inf"))
            logits = torch.cat([pos_logit, neg_logit], dim=1)
            return F.cross_entropy(logits, torch.zeros(len(pos), dtype=torch.long))
        neg = torch.from_numpy(rng.integers(1, self.n_items + 1, size=len(pos)))
        pos_logit = (h * emb[pos]).sum(-1)
        neg_logit = (h * emb[neg]).sum(-1)
        return F.binary_cross_entropy_with_logits(
            torch.cat([pos_logit, neg_logit]),
            torch.cat([torch.ones_like(pos_logit), torch.zeros_like(neg_logit)]),
        )

    def _inference_module(self):
        """A float64 copy of the network for scoring: float32 kernels round differently for different
        batch shapes, and a user's scores must not depend on who else is in the batch."""
        if getattr(self, "_infer", None) is None:
            import copy

            self._infer = copy.deepcopy(self.module).double().eval()
        return self._infer

    def _score_padded(self, padded: np.ndarray) -> np.ndarray:
        torch = _torch(self.runtime.threads)
        out = np.empty((len(padded), self.n_items), dtype=np.float64)
        lengths = (padded > 0).sum(axis=1)
        module = self._inference_module()
        with torch.no_grad():
            emb = module.item.weight[1:]
            for start in range(0, len(padded), 256):
                width = max(int(lengths[start : start + 256].max(initial=1)), 1)
                h = module(torch.from_numpy(padded[start : start + 256, -width:]))[:, -1, :]
                out[start : start + 256] = (h @ emb.T).numpy()
        return out

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Next-item scores from each user's training sequence."""
        self.check_fitted()
        return self._score_padded(self._user_seqs[self.check_users(user_idx)])

    def score_sequences(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Next-item scores ``[len(sequences), n_items]`` for arbitrary item-index sequences (oldest first).

        An empty sequence scores every item 0 (no evidence): callers fall back to a cold-start list.
        """
        self.check_fitted()
        seqs = [self.check_items(np.asarray(s, dtype=np.int64)) for s in sequences]
        return self._score_padded(pad_sequences(seqs, self.config.max_len))

    def _state(self) -> dict[str, np.ndarray]:
        state = {f"w::{k}": v.detach().cpu().numpy() for k, v in self.module.state_dict().items()}
        state["user_seqs"] = self._user_seqs
        return state

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self._user_seqs = np.array(arrays["user_seqs"])
        self.module = _load_module(_build_module, arrays, self.runtime.threads, self.n_items, self.config)
        self._infer = None
