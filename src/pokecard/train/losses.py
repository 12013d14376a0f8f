"""Losses: metric learning for the teacher, asymmetric distillation for the student.

torch is imported by the callers (this module is only imported from training code).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class NormSoftmax(nn.Module):
    """Normalized softmax with an additive cosine margin (CosFace) over card ids.

    logits = scale * (cos(e, w_c) - margin * [c == y]); one learned proxy ``w_c`` per card.
    """

    def __init__(self, num_classes: int, dim: int, scale: float = 20.0, margin: float = 0.15) -> None:
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(num_classes, dim) * 0.01)
        self.scale = scale
        self.margin = margin

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(emb, dim=1) @ F.normalize(self.proxies, dim=1).T
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return F.cross_entropy(self.scale * (cos - self.margin * onehot), labels)


def distill_loss(
    student: torch.Tensor,
    gallery: torch.Tensor,
    labels: torch.Tensor,
    *,
    cosine_weight: float = 1.0,
    relational_weight: float = 1.0,
    gallery_ce_weight: float = 1.0,
    temperature: float = 0.05,
    relational_cap: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """student(photo of c) -> teacher(clean scan of c), against the cached gallery [C, D].

    * cosine: 1 - cos(student, gallery[c]);
    * relational: the batch similarity matrix of the student matches the teacher's
      (gallery[c_i] . gallery[c_j]), so near-duplicate cards stay as close as the teacher
      puts them, no closer;
    * gallery softmax: cross-entropy over cos(student, every gallery card) / T - the
      retrieval task itself, and cheap because the gallery is cached.

    ``relational_cap`` < 1: two *different* cards are never asked to be closer than that, even
    where the teacher puts them closer (a weak teacher merges reprints that share art at
    cosine ~1.0; copying that relation would undo what separates them).
    """
    s = F.normalize(student, dim=1)
    t = gallery[labels]
    cos = (s * t).sum(1)
    l_cos = (1 - cos).mean()
    rel_t = t @ t.T
    if relational_cap < 1.0:
        other = labels[:, None] != labels[None, :]
        rel_t = torch.where(other, rel_t.clamp(max=relational_cap), rel_t)
    l_rel = F.mse_loss(s @ s.T, rel_t)
    l_ce = F.cross_entropy(s @ gallery.T / temperature, labels)
    total = cosine_weight * l_cos + relational_weight * l_rel + gallery_ce_weight * l_ce
    return total, {
        "cosine": float(l_cos.detach()),
        "relational": float(l_rel.detach()),
        "gallery_ce": float(l_ce.detach()),
    }


def retrieval_metrics(queries: Any, gallery: Any, labels: Any, k: int = 5) -> dict[str, float]:
    """top-1, top-k, mean and 5th-percentile margin (cos to the true card minus best other).

    A numpy implementation (used for every model and backend). ``margin`` here is the
    correct-card score minus the best wrong card: positive means a correct top-1.
    """
    import numpy as np

    q = np.asarray(queries, dtype=np.float32)
    g = np.asarray(gallery, dtype=np.float32)
    y = np.asarray(labels)
    sims = q @ g.T
    order = np.argsort(-sims, axis=1)
    top1 = float(np.mean(order[:, 0] == y))
    topk = float(np.mean([y[i] in order[i, :k] for i in range(len(y))]))
    true = sims[np.arange(len(y)), y]
    other = sims.copy()
    other[np.arange(len(y)), y] = -np.inf
    margin = true - other.max(axis=1)
    return {
        "top1": top1,
        f"top{k}": topk,
        "margin_mean": float(margin.mean()),
        "margin_p5": float(np.percentile(margin, 5)),
        "n": int(len(y)),
    }
