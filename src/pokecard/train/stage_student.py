"""Stage student: distillation of the student towards the teacher gallery."""

from __future__ import annotations

import logging
from typing import Any

from pokecard import layout
from pokecard.train.loop import FitJob, fit_network
from pokecard.train.run import Run, StageResult, file_sha256
from pokecard.train.tracking import update_lineage
from pokecard.train.trainer import finish_training, net_and_pool

log = logging.getLogger(__name__)


def stage_student(run: Run, h: str, res: StageResult) -> None:
    import torch

    from pokecard.train.losses import NormSoftmax, distill_loss

    sc, v, lc = run.cfg.student, run.v, run.cfg.loss
    gallery = torch.from_numpy(run.gallery()).to(run.device)
    net, card, pool = net_and_pool(run, "student", sc, run.student_weights)
    # Where the teacher's gallery cannot tell two cards apart (a weak teacher puts reprints
    # that share art at cosine ~1.0), every distillation term gives both the same target;
    # the student's own id loss (CosFace over card ids) is what can still separate them.
    id_loss = (
        NormSoftmax(len(run.cards), sc.embedding_dim, lc.scale, lc.margin)
        if lc.student_id_weight > 0
        else None
    )

    def loss_fn(emb: Any, y: Any) -> tuple[Any, dict[str, float]]:
        total, parts = distill_loss(
            emb,
            gallery,
            y,
            cosine_weight=lc.cosine_weight,
            relational_weight=lc.relational_weight,
            gallery_ce_weight=lc.gallery_ce_weight,
            temperature=lc.gallery_temperature,
            relational_cap=lc.relational_cap,
        )
        if id_loss is not None:
            l_id = id_loss(emb, y)
            parts["id"] = float(l_id.detach())
            total = total + lc.student_id_weight * l_id
        return total, parts

    job = FitJob(
        "student",
        sc,
        net,
        card,
        id_loss,
        loss_fn,
        pool,
        layout.student_dir(v),
        h,
        prototypes=(lambda: id_loss.proxies) if id_loss is not None else (lambda: gallery),
    )
    history = fit_network(run, job, res)
    finish_training(
        run, "student", net, card, layout.student_checkpoint(v), layout.student_dir(v), history, res
    )

    update_lineage(
        run.store,
        v,
        "student",
        {
            "architecture": card.architecture,
            "weights_sha256": card.weights_sha256,
            "distilled_from": run.sha_of(layout.teacher_gallery(v)),
            "init": file_sha256(run.student_weights) or "random",
        },
    )
