"""Stage teacher: metric learning of the teacher on simulated photos (normalized softmax with a margin over card ids)."""

from __future__ import annotations

import logging
from typing import Any

from pokecard import layout
from pokecard.train.loop import FitJob, fit_network
from pokecard.train.run import Run, StageResult, file_sha256
from pokecard.train.tracking import update_lineage
from pokecard.train.trainer import finish_training, net_and_pool

log = logging.getLogger(__name__)


def stage_teacher(run: Run, h: str, res: StageResult) -> None:
    from pokecard.train.losses import NormSoftmax

    sc, v = run.cfg.teacher, run.v
    net, card, pool = net_and_pool(run, "teacher", sc, run.teacher_weights)
    loss_mod = NormSoftmax(len(run.cards), sc.embedding_dim, run.cfg.loss.scale, run.cfg.loss.margin)

    def loss_fn(emb: Any, y: Any) -> tuple[Any, dict[str, float]]:
        loss = loss_mod(emb, y)
        return loss, {}

    job = FitJob(
        "teacher",
        sc,
        net,
        card,
        loss_mod,
        loss_fn,
        pool,
        layout.teacher_dir(v),
        h,
        prototypes=lambda: loss_mod.proxies,
    )
    history = fit_network(run, job, res)
    finish_training(
        run, "teacher", net, card, layout.teacher_checkpoint(v), layout.teacher_dir(v), history, res
    )

    update_lineage(
        run.store,
        v,
        "teacher",
        {
            "architecture": card.architecture,
            "weights_sha256": card.weights_sha256,
            "catalog": run.catalog_hash,
            "init": file_sha256(run.teacher_weights) or "random",
        },
    )
