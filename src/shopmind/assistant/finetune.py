"""Contrastive fine-tuning of the sentence encoder on the shop's labelled utterances (SetFit-style).

SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts") fine-tunes a sentence
encoder contrastively on pairs built from the labelled examples and then fits a linear head on the
new vectors. We use the in-batch-negatives form of that step: every batch holds ``B`` pairs
``(a_i, p_i)`` of two utterances of the same intent, all ``B`` intents distinct, and minimises the
InfoNCE / multiple-negatives ranking loss (sentence-transformers ``MultipleNegativesRankingLoss``,
Henderson et al. 2017)::

    L = −1/B · Σ_i log( exp(s·cos(a_i, p_i)) / Σ_j exp(s·cos(a_i, p_j)) ),   s = 20

so every other pair in the batch is a negative of another intent. Pulling same-intent utterances
together also pushes unseen intents away from the known clusters, which is what the
nearest-neighbour out-of-scope score needs.

The loop is written out (about 30 lines) instead of using ``SentenceTransformerTrainer`` because the
trainer needs the ``datasets`` and ``accelerate`` packages, which shopmind does not otherwise use;
the model, the tokenizer and the loss are sentence-transformers' own.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.errors import DataError

log = logging.getLogger(__name__)


def label_pair_batches(y: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of ``[B, 2]`` index pairs (anchor, positive), same label in a row, labels unique per batch.

    Every utterance of an intent with ≥ 2 examples is an anchor once, paired with another random
    utterance of its intent. Batches draw one pair from each of up to ``batch_size`` intents that
    still have pairs left, so no in-batch negative shares the anchor's intent.
    """
    queues: dict[int, list[np.ndarray]] = {}
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < 2:
            continue
        # a random cycle through the intent's utterances: each is an anchor once and a positive once
        cycle = rng.permutation(idx)
        queues[int(c)] = list(np.stack([cycle, np.roll(cycle, -1)], axis=1))
    batches: list[np.ndarray] = []
    while queues:
        labels = list(queues)
        left = np.array([len(queues[c]) for c in labels], dtype=np.float64)
        # intents drawn in proportion to the pairs they have left, so large intents don't end up
        # alone in the last batches of the epoch
        take = rng.choice(len(labels), size=min(batch_size, len(labels)), replace=False, p=left / left.sum())
        rows = []
        for t in take:
            c = labels[t]
            rows.append(queues[c].pop())
            if not queues[c]:
                del queues[c]
        if len(rows) >= 2:  # a single pair has no negative
            batches.append(np.stack(rows))
    return batches


def finetune_encoder(
    base: str | Path,
    texts: Sequence[str],
    labels: Sequence[Any] | np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    lr: float = 5e-5,
    seed: int = 42,
) -> Any:
    """Fine-tune the sentence-transformers model in ``base`` on ``(texts, labels)``; returns the model.

    Linear warm-up over the first 10 % of steps, then linear decay (the usual BERT schedule).
    Deterministic for a given seed and thread count.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if len(texts) != len(labels):
        raise DataError("texts and labels differ in length", value=(len(texts), len(labels)))
    if epochs < 1:
        raise DataError("fine-tuning needs at least one epoch", value=epochs, expected=">= 1")
    _, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    rng = np.random.default_rng(seed)
    epoch_batches = [label_pair_batches(y, batch_size, rng) for _ in range(epochs)]
    n_steps = sum(len(b) for b in epoch_batches)
    if n_steps == 0:
        raise DataError("no intent has two utterances to pair", expected=">= 2 utterances per intent")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, n_steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (n_steps - s) / max(1, n_steps - warmup)))
    )
    texts = [str(t) for t in texts]
    model.train()
    started, step = time.perf_counter(), 0
    for batches in epoch_batches:
        for pairs in batches:
            features = [model.preprocess([texts[i] for i in pairs[:, col]]) for col in (0, 1)]
            loss = loss_fn(features, None)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
    model.eval()
    log.info(
        "fine-tuned the encoder: %d utterances, %d epochs, %d steps in %.0f s",
        len(texts),
        epochs,
        n_steps,
        time.perf_counter() - started,
    )
    return model
