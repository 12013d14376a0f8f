"""Stage gallery: the teacher's embedding of every clean catalogue card, the student's target."""

from __future__ import annotations

import io
import logging
import time

import numpy as np

from pokecard import layout
from pokecard.train.run import Run, StageResult
from pokecard.train.tracking import update_lineage

log = logging.getLogger(__name__)


def stage_gallery(run: Run, h: str, res: StageResult) -> None:
    v = run.v
    net, card = run.load_net(layout.teacher_checkpoint(v), layout.teacher_dir(v))
    t0 = time.perf_counter()
    g = run.embed(net, card, run.cards)
    res.images_per_s = len(g) / (time.perf_counter() - t0)
    buf = io.BytesIO()
    np.save(buf, g.astype(np.float32))
    key = layout.teacher_gallery(v)
    sha = run.store.put_bytes(key, buf.getvalue())
    res.outputs = {key: sha}
    res.metrics = {"cards": len(g), "dim": int(g.shape[1])}

    update_lineage(
        run.store, v, "gallery", {"sha256": sha, "teacher": card.weights_sha256, "card_ids": run.card_ids}
    )
