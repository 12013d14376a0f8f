"""Around the training loop: the model card of a trained network, its network and photo pool, the thread count, profiler traces, and what a finished stage writes."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pokecard import layout
from pokecard.modelcard import ModelCard
from pokecard.models import (
    create_model,
    parameter_count,
    resolve,
    state_dict_bytes,
)
from pokecard.store import sha256_bytes
from pokecard.train.config import StageConfig
from pokecard.train.data import training_pool
from pokecard.train.run import Run, StageResult, today

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- stages
def _make_card(run: Run, name: str, sc: StageConfig, net: Any) -> ModelCard:
    spec = resolve(sc.model, sc.embedding_dim)
    return ModelCard(
        name=name,
        architecture=spec.architecture,
        embedding_dim=sc.embedding_dim,
        input_size=tuple(sc.input_size),
        interpolation="area",
        parameters=parameter_count(net),
        preset=run.cfg.name,
        run_id=run.tracker.run_id if run.tracker else None,
        extra={"alias": sc.model, "timm_kwargs": {**spec.timm_kwargs, **sc.timm_kwargs}},
    )


def pick_threads(run: Run, net: Any, card: ModelCard, images: Any, batch: int) -> None:
    """threads = 0 on a CPU: time a few forward+backward passes with one intra-op thread and
    with one per core, and train with the faster. Measured, because a guess from the load
    average fails both ways: OpenMP threads fighting other processes for 2 cores ran 2-3x
    slower than one thread, and one thread on idle cores wastes half the machine. The net's
    weights and BatchNorm statistics are restored afterwards."""
    import torch

    cores = os.cpu_count() or 1
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    x = run.to_input(images[: min(batch, len(images))], card)
    timing: dict[int, float] = {}
    net.train()
    for t in (cores, 1):
        torch.set_num_threads(t)
        best = float("inf")
        for rep in range(3):
            t0 = time.perf_counter()
            net(x).sum().backward()
            if rep:  # the first pass warms up
                best = min(best, time.perf_counter() - t0)
        timing[t] = best
    net.load_state_dict(state)
    net.zero_grad(set_to_none=True)
    chosen = min(timing, key=lambda k: timing[k])
    torch.set_num_threads(chosen)
    log.info(
        "training with %d torch thread(s): a pass took %.0f ms with %d, %.0f ms with 1",
        chosen,
        timing[cores] * 1000,
        cores,
        timing[1] * 1000,
    )


def start_trace(run: Run) -> Any:
    import torch

    acts = [torch.profiler.ProfilerActivity.CPU]
    if run.device == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    prof = torch.profiler.profile(
        activities=acts, schedule=torch.profiler.schedule(wait=1, warmup=1, active=3), record_shapes=True
    )
    prof.__enter__()
    return prof


def stop_trace(run: Run, prof: Any, stage: str, arch: str) -> None:
    prof.__exit__(None, None, None)
    key = f"{layout.profiling_dir(arch, today())}/{stage}_trace.json"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "trace.json"
        prof.export_chrome_trace(str(p))
        run.store.put_file(key, p)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)
        run.store.put_bytes(f"{layout.profiling_dir(arch, today())}/{stage}_top_ops.txt", table.encode())
    log.warning("profiler trace of %s written to %s%s", stage, run.store.url, key)


def finish_training(
    run: Run,
    stage: str,
    net: Any,
    card: ModelCard,
    ckpt_key: str,
    model_dir: str,
    history: list[dict[str, float]],
    res: StageResult,
) -> None:
    data = state_dict_bytes(net, {"history": history, "preset": run.cfg.name})
    card.weights_sha256 = sha256_bytes(data)
    card.metrics = {
        "train_loss_first": history[0]["loss"],
        "train_loss_last": history[-1]["loss"],
        "epochs": len(history),
    }
    with run.store.batch():
        run.store.put_bytes(ckpt_key, data)
        run.store.put_json(layout.model_card(model_dir), card.as_dict())
        resume_key = f"{model_dir}/{layout.RESUME_CHECKPOINT}"
        if run.store.exists(resume_key):
            run.store.delete(resume_key, dry_run=False)
    # The model card is not a stamped output: later stages add metrics to it.
    res.outputs = {ckpt_key: card.weights_sha256}
    res.metrics = {
        **res.metrics,
        "loss_first_epoch": history[0]["loss"],
        "loss_last_epoch": history[-1]["loss"],
        "parameters": card.parameters,
    }
    if history[-1]["loss"] >= history[0]["loss"] and len(history) > 2:
        log.warning(
            "%s: the loss did not decrease (%.4f -> %.4f): check the learning rate and the data",
            stage,
            history[0]["loss"],
            history[-1]["loss"],
        )


def net_and_pool(run: Run, role: str, sc: StageConfig, weights: Any) -> tuple[Any, ModelCard, Any]:
    """The network, its model card and the simulated-crop pool a training stage learns from."""
    net = create_model(
        sc.model, embedding_dim=sc.embedding_dim, input_size=sc.input_size, weights=weights, **sc.timm_kwargs
    )
    card = _make_card(run, role, sc, net)
    d = run.cfg.data
    pool = training_pool(
        run.cards,
        d.views_per_card,
        hw=sc.input_size,
        config_name=d.photo_config,
        workers=run.pool_workers,
        catalog_hash=run.catalog_hash,
    )
    return net, card, pool
