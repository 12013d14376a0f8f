"""Training one network: the model card, the schedule, the step loop with resume and checkpoints, threads, profiler traces, and what a finished stage writes."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard
from pokecard.models import (
    create_model,
    load_checkpoint_bytes,
    parameter_count,
    resolve,
    state_dict_bytes,
)
from pokecard.progress import progress
from pokecard.store import sha256_bytes
from pokecard.train.config import STAGES, StageConfig
from pokecard.train.data import HardClassSampler, PoolRefresher, tensor_jitter, training_pool
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


def _lr_factor(progress: float, warmup: float) -> float:
    """Linear warmup then cosine to 2 %, over training progress in [0, 1] (steps or time)."""
    if progress < warmup:
        return max(progress / warmup, 0.01)
    p = (progress - warmup) / max(1e-9, 1 - warmup)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def fit_network(
    run: Run,
    stage: str,
    sc: StageConfig,
    net: Any,
    card: ModelCard,
    loss_mod: Any,
    loss_fn: Any,
    pool: tuple[np.ndarray, np.ndarray],
    model_dir: str,
    inputs_hash: str,
    res: StageResult,
    prototypes: Any = None,
) -> list[dict[str, float]]:
    """The shared training loop: per-epoch checkpoint, resume, tracking, optional trace.

    ``prototypes()`` returns one vector per card (the teacher's proxies, the student's cached
    gallery); with ``data.hard_class_frac`` it drives the hard-class sampler."""
    import torch

    images = torch.from_numpy(pool[0])
    labels = torch.from_numpy(pool[1])
    cuda = str(run.device).startswith("cuda")
    if cuda:
        # The pool lives on the GPU (uint8: 21k crops at 224 x 160 are ~2.3 GB), so a step
        # gathers its batch there; matmuls may use TF32 and the forward runs in bf16.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        images, labels = images.to(run.device), labels.to(run.device)
    amp = cuda and run.cfg.amp
    net.to(run.device)
    if run.cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if loss_mod is not None:
        loss_mod.to(run.device)
    if run.auto_threads:
        pick_threads(run, net, card, images, sc.batch_size)
    params = list(net.parameters()) + (list(loss_mod.parameters()) if loss_mod is not None else [])
    opt = torch.optim.AdamW(params, lr=sc.lr, weight_decay=sc.weight_decay)
    total = sc.epochs * sc.steps_per_epoch
    # With a time budget the schedule follows elapsed time (whichever of steps and time is
    # further along), so a budgeted run still anneals and ends on a low learning rate.
    budget_s = sc.max_minutes * 60.0
    gstep, elapsed = 0, 0.0
    resume_key = f"{model_dir}/{layout.RESUME_CHECKPOINT}"
    history: list[dict[str, float]] = []
    start = 0
    if run.store.exists(resume_key) and not run.force:
        # Not verified against the project manifest: the store writes the file (atomically)
        # and then records its sha256, so a run killed between the two leaves a whole, newer
        # checkpoint beside an older manifest entry - exactly the case resuming is for. The
        # checkpoint carries its own inputs hash, checked below.
        ck = load_checkpoint_bytes(
            run.store.get_bytes(resume_key, verify=False), f"{run.store.url}{resume_key}"
        )
        if ck.get("inputs_hash") == inputs_hash:
            net.load_state_dict(ck["model"])
            if loss_mod is not None and "loss" in ck:
                loss_mod.load_state_dict(ck["loss"])
            opt.load_state_dict(ck["optimizer"])
            gstep, elapsed = int(ck.get("step", 0)), float(ck.get("train_seconds", 0.0))
            start = int(ck["epoch"]) + 1
            history = list(ck.get("history", []))
            res.resumed_from_epoch = int(ck["epoch"])
            log.warning("%s: resuming from the checkpoint of epoch %d (%s)", stage, ck["epoch"], resume_key)
        else:
            log.info("%s: ignoring %s, it was made from other inputs", stage, resume_key)
    n = len(labels)
    seen, train_s = 0, 0.0
    d = run.cfg.data
    sampler = (
        HardClassSampler(pool[1], d.hard_class_frac)
        if d.hard_class_frac > 0 and prototypes is not None
        else None
    )
    refresher = None
    pools_used = 1
    if d.refresh_every:
        refresher = PoolRefresher(
            run.cards,
            d.views_per_card,
            tuple(sc.input_size),
            d.photo_config,
            run.pool_workers,
        )
        refresher.start()
    with (
        progress((sc.epochs - start) * sc.steps_per_epoch, f"{stage} ({run.device})") as advance,
        contextlib.closing(refresher) if refresher is not None else contextlib.nullcontext(),
    ):
        for epoch in range(start, sc.epochs):
            rng = np.random.default_rng([run.cfg.seed, STAGES.index(stage), epoch])
            gen = torch.Generator().manual_seed(run.cfg.seed * 1000 + epoch)
            net.train()
            losses: list[float] = []
            parts_sum: dict[str, float] = {}
            t0 = time.perf_counter()
            prof = None
            if run.trace and epoch == start:
                prof = _start_trace(run)
            for step in range(sc.steps_per_epoch):
                if sampler is not None:
                    idx_np = sampler.draw(rng, sc.batch_size)
                else:
                    idx_np = rng.integers(0, n, sc.batch_size)
                idx = torch.from_numpy(idx_np).to(images.device)
                x = run.to_input(images[idx], card)
                y = labels[idx].to(run.device)
                if run.cfg.data.tensor_aug:
                    x = tensor_jitter(x, gen)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    emb = net(x)
                # The loss stays in float32: gallery cosines of near-duplicate cards differ
                # in the third decimal, below bf16's resolution.
                loss, parts = loss_fn(emb.float(), y)
                if sampler is not None:
                    sampler.update(emb.detach().float(), prototypes().detach().float(), y)
                progress_now = gstep / total
                if budget_s:
                    progress_now = max(progress_now, (elapsed + time.perf_counter() - t0) / budget_s)
                lr_now = sc.lr * _lr_factor(progress_now, sc.warmup_frac)
                for g in opt.param_groups:
                    g["lr"] = lr_now
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                gstep += 1
                lv = float(loss.detach())
                if not math.isfinite(lv):
                    raise ModelError(
                        f"{stage}: loss became {lv} at epoch {epoch} step {step}; lower the learning rate"
                    )
                losses.append(lv)
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + v
                if prof is not None:
                    prof.step()
                    if step >= 5:
                        _stop_trace(run, prof, stage, card.architecture)
                        prof = None
                advance(1)
            if prof is not None:
                _stop_trace(run, prof, stage, card.architecture)
            dt_s = time.perf_counter() - t0
            seen += sc.steps_per_epoch * sc.batch_size
            train_s += dt_s
            elapsed += dt_s
            rec = {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "loss_first": losses[0],
                "loss_last": losses[-1],
                "images_per_s": sc.steps_per_epoch * sc.batch_size / dt_s,
                "lr": lr_now,
                **{k: v / sc.steps_per_epoch for k, v in parts_sum.items()},
            }
            history.append(rec)
            log.info(
                "%s epoch %d/%d loss %.4f (%.1f img/s)",
                stage,
                epoch + 1,
                sc.epochs,
                rec["loss"],
                rec["images_per_s"],
            )
            run.tracker.log_metrics({f"{stage}.{k}": v for k, v in rec.items() if k != "epoch"}, step=epoch)
            run.store.put_bytes(
                resume_key,
                state_dict_bytes(
                    net,
                    {
                        "epoch": epoch,
                        "inputs_hash": inputs_hash,
                        "optimizer": opt.state_dict(),
                        "step": gstep,
                        "train_seconds": elapsed,
                        "history": history,
                        **({"loss": loss_mod.state_dict()} if loss_mod is not None else {}),
                    },
                ),
            )
            res.epochs_run += 1
            if refresher is not None and (epoch + 1 - start) % d.refresh_every == 0:
                fresh = refresher.ready()
                if fresh is not None:  # swap only when ready: training never waits for it
                    images = torch.from_numpy(fresh[0]).to(images.device)
                    labels = torch.from_numpy(fresh[1]).to(labels.device)
                    n = len(labels)
                    if sampler is not None:
                        sampler.set_labels(fresh[1])
                    pools_used += 1
                    log.info(
                        "%s: fresh photo pool %d swapped in after epoch %d", stage, pools_used, epoch + 1
                    )
            if budget_s and elapsed >= budget_s:
                log.warning(
                    "%s: time budget of %.1f min reached after epoch %d", stage, sc.max_minutes, epoch + 1
                )
                res.note = (
                    f"stopped by the {sc.max_minutes:g} min budget after {epoch + 1} of {sc.epochs} epochs"
                )
                break
    res.images_per_s = seen / train_s if train_s else None
    res.metrics["photo_pools"] = pools_used
    if sampler is not None:
        res.metrics["hardest_classes"] = sampler.hardest(5)
    net.eval()
    return history


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


def _start_trace(run: Run) -> Any:
    import torch

    acts = [torch.profiler.ProfilerActivity.CPU]
    if run.device == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    prof = torch.profiler.profile(
        activities=acts, schedule=torch.profiler.schedule(wait=1, warmup=1, active=3), record_shapes=True
    )
    prof.__enter__()
    return prof


def _stop_trace(run: Run, prof: Any, stage: str, arch: str) -> None:
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
