"""Stage reference: the reference DB built by the exported student."""

from __future__ import annotations

import logging
import tempfile

from pokecard import layout
from pokecard.reference.build import build_reference
from pokecard.train.run import Run, StageResult
from pokecard.train.tracking import update_lineage

log = logging.getLogger(__name__)


def stage_reference(run: Run, h: str, res: StageResult) -> None:
    v = run.v
    run.need(layout.student_onnx(v), "export")
    with tempfile.TemporaryDirectory() as d:
        onnx_path = run.local_file(layout.student_onnx(v), d)
        if not onnx_path.with_name(layout.MODEL_CARD).is_file():
            run.store.get_file(
                layout.model_card(layout.student_dir(v)), onnx_path.with_name(layout.MODEL_CARD)
            )
        out = build_reference(run.store, model=onnx_path)
    for key in (layout.REFERENCE_EMBEDDINGS, layout.REFERENCE_MANIFEST):
        if run.store.exists(key):
            res.outputs[key] = run.sha_of(key)
    res.metrics = {"cards": len(run.card_ids)}
    if isinstance(out, dict):
        res.metrics.update({k: x for k, x in out.items() if isinstance(x, (int, float, str))})
    elif hasattr(out, "as_dict"):
        res.metrics.update({k: x for k, x in out.as_dict().items() if isinstance(x, (int, float, str))})
    update_lineage(
        run.store, v, "reference", {"onnx": run.sha_of(layout.student_onnx(v)), "outputs": res.outputs}
    )
