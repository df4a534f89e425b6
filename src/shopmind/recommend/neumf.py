"""NeuMF — neural collaborative filtering (He, Liao, Zhang, Nie, Hu, Chua, WWW 2017).

Two towers score a (user, item) pair:

* GMF: ``φ_GMF = p_u ⊙ q_i`` (element-wise product of ``factors``-dim embeddings);
* MLP: ``φ_MLP = a_L(… a_1(W_1 [p'_u; q'_i] + b_1) …)`` with ReLU layers ``mlp_layers``;
* ``ŷ_ui = σ(hᵀ [φ_GMF; φ_MLP])``.

Trained on implicit feedback (every observed pair is positive) with binary cross-entropy against
``negatives`` uniformly sampled unobserved items per positive, re-drawn every epoch (the paper's
pointwise log loss, §3.1.1), with Adam. The paper's GMF/MLP pre-training is replaced by joint training
from scratch, as in most re-implementations (MS Recommenders' NCF included).

Scoring all items for a batch of users avoids the per-pair MLP cost of the first layer by splitting
``W_1 [p'_u; q'_i] = W_1ᵘ p'_u + W_1ⁱ q'_i`` and precomputing both halves. torch is imported only here
and in :mod:`shopmind.recommend.sasrec`.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ArtifactError
from shopmind.recommend.base import AlgorithmConfig, Recommender
from shopmind.recommend.registry import register

log = logging.getLogger(__name__)


class NeuMFConfig(AlgorithmConfig):
    """NeuMF hyper-parameters.

    Defaults are the reference code's of He et al. ("Neural Collaborative Filtering", WWW 2017): 8
    predictive factors, MLP layers 64-32-16-8, 4 negatives per positive, batch 256, learning rate 0.001
    (Adam); 20 epochs is a CPU budget (the reference trains longer). Configurations tuned on a data set
    are presets (:mod:`shopmind.presets`).
    """

    factors: int = Field(8, ge=1, le=1024, description="GMF embedding size")
    mlp_layers: tuple[int, ...] = Field(
        (64, 32, 16, 8), min_length=1, description="MLP widths; first = 2 × embedding"
    )
    negatives: int = Field(4, ge=1, le=100, description="sampled negatives per positive")
    epochs: int = Field(20, ge=1, le=1000)
    batch_size: int = Field(256, ge=16)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    min_value: float = Field(0.0, description="events with aggregated strength <= this are not positives")


def _torch(threads: int):
    import torch

    torch.set_num_threads(threads or 1)
    return torch


def _build_module(torch, n_users: int, n_items: int, cfg: NeuMFConfig):
    nn = torch.nn

    class _NeuMF(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f, layers = cfg.factors, cfg.mlp_layers
            half = max(layers[0] // 2, 1)
            self.gmf_u = nn.Embedding(n_users, f)
            self.gmf_i = nn.Embedding(n_items, f)
            self.mlp_u = nn.Embedding(n_users, half)
            self.mlp_i = nn.Embedding(n_items, half)
            self.first_u = nn.Linear(half, layers[0], bias=False)
            self.first_i = nn.Linear(half, layers[0])
            self.rest = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(layers))
            self.out = nn.Linear(f + layers[-1], 1)
            for emb in (self.gmf_u, self.gmf_i, self.mlp_u, self.mlp_i):
                nn.init.normal_(emb.weight, std=0.01)

        def _mlp(self, h):
            h = torch.relu(h)
            for layer in self.rest:
                h = torch.relu(layer(h))
            return h

        def forward(self, u, i):  # pairs → logits
            g = self.gmf_u(u) * self.gmf_i(i)
            m = self._mlp(self.first_u(self.mlp_u(u)) + self.first_i(self.mlp_i(i)))
            return self.out(torch.cat([g, m], dim=-1)).squeeze(-1)

        def score_all(self, u):  # users × all items → logits
            w = self.out.weight[0]
            f = self.gmf_u.weight.shape[1]
            g = (self.gmf_u(u) * w[:f]) @ self.gmf_i.weight.T
            hu = self.first_u(self.mlp_u(u))  # [b, h1]
            hi = self.first_i(self.mlp_i.weight)  # [n_items, h1]
            m = self._mlp(hu[:, None, :] + hi[None, :, :])  # [b, n_items, h_last]
            return g + m @ w[f:] + self.out.bias[0]

    return _NeuMF()


def sample_negatives(
    seen: sp.csr_matrix, users: np.ndarray, n_items: int, rng: np.random.Generator, tries: int = 20
) -> np.ndarray:
    """One uniformly random item per entry of ``users`` that the user has not interacted with.

    Vectorised rejection sampling: redraw only the collisions (a user who has seen nearly everything
    may keep a collision after ``tries`` rounds; that is rare and harmless for training).
    """
    items = rng.integers(0, max(n_items, 1), size=len(users))
    if len(users) == 0 or n_items == 0:
        return items
    for _ in range(tries):
        clash = np.asarray(seen[users, items]).ravel() > 0
        if not clash.any():
            break
        items[clash] = rng.integers(0, n_items, size=int(clash.sum()))
    return items


@register
class NeuMF(Recommender):
    """NeuMF (GMF ⊕ MLP) with BCE on sampled negatives; see the module docstring."""

    name = "neumf"
    uses_torch = True
    Config = NeuMFConfig
    config: NeuMFConfig

    def _fit(self, dataset: Dataset) -> None:
        torch = _torch(self.runtime.threads)
        torch.manual_seed(self.runtime.seed)
        rng = np.random.default_rng(self.runtime.seed)
        cfg = self.config
        m = dataset.matrix()
        m.data[m.data <= cfg.min_value] = 0
        m.eliminate_zeros()
        seen = (m > 0).astype(np.float32).tocsr()
        pos_u, pos_i = seen.nonzero()
        self.module = _build_module(torch, self.n_users, self.n_items, cfg)
        opt = torch.optim.Adam(self.module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        n_pos = len(pos_u)
        neg_per = cfg.negatives
        self.module.train()
        for epoch in range(cfg.epochs):
            users = np.concatenate([pos_u, np.repeat(pos_u, neg_per)])
            items = np.concatenate(
                [pos_i, sample_negatives(seen, np.repeat(pos_u, neg_per), self.n_items, rng)]
            )
            labels = np.concatenate([np.ones(n_pos, np.float32), np.zeros(n_pos * neg_per, np.float32)])
            order = rng.permutation(len(users))
            u_t = torch.from_numpy(users[order].astype(np.int64))
            i_t = torch.from_numpy(items[order].astype(np.int64))
            y_t = torch.from_numpy(labels[order])
            total = 0.0
            for start in range(0, len(order), cfg.batch_size):
                sl = slice(start, start + cfg.batch_size)
                opt.zero_grad()
                loss = loss_fn(self.module(u_t[sl], i_t[sl]), y_t[sl])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(y_t[sl])
            log.debug("neumf epoch %d loss %.4f", epoch + 1, total / max(len(order), 1))
        self.module.eval()

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        user_idx = self.check_users(user_idx)
        torch = _torch(self.runtime.threads)
        out = np.empty((len(user_idx), self.n_items), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(user_idx), 128):  # bounds the [b, n_items, h1] MLP activations
                u = torch.from_numpy(np.asarray(user_idx[start : start + 128], dtype=np.int64))
                out[start : start + 128] = self.module.score_all(u).numpy()
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {f"w::{k}": v.detach().cpu().numpy() for k, v in self.module.state_dict().items()}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.module = _load_module(
            _build_module, arrays, self.runtime.threads, self.n_users, self.n_items, self.config
        )


def _load_module(builder: Any, arrays: dict[str, np.ndarray], threads: int, *args: Any):
    torch = _torch(threads)
    module = builder(torch, *args)
    state = {
        k.removeprefix("w::"): torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("w::")
    }
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ArtifactError("saved weights do not fit the configured network", value=str(exc)[:200]) from exc
    module.eval()
    return module
