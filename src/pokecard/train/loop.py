"""The training loop of one network: the schedule, resume from the per-epoch checkpoint, the photo pool refresh, the time budget."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard
from pokecard.models import (
    load_checkpoint_bytes,
    state_dict_bytes,
)
from pokecard.progress import progress
from pokecard.train.config import STAGES, StageConfig
from pokecard.train.data import HardClassSampler, PoolRefresher, tensor_jitter
from pokecard.train.run import Run, StageResult
from pokecard.train.trainer import pick_threads, start_trace, stop_trace

log = logging.getLogger(__name__)


def _lr_factor(progress: float, warmup: float) -> float:
    """Linear warmup then cosine to 2 %, over training progress in [0, 1] (steps or time)."""
    if progress < warmup:
        return max(progress / warmup, 0.01)
    p = (progress - warmup) / max(1e-9, 1 - warmup)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


@dataclass
class FitJob:
    """What one training stage trains: the network, its loss and pool, where it checkpoints.

    ``prototypes()`` returns one vector per card (the teacher's proxies, the student's cached
    gallery); with ``data.hard_class_frac`` it drives the hard-class sampler."""

    stage: str
    sc: StageConfig
    net: Any
    card: ModelCard
    loss_mod: Any
    loss_fn: Any
    pool: tuple[np.ndarray, np.ndarray]
    model_dir: str
    inputs_hash: str
    prototypes: Any = None


class _Loop:
    """The state of one training loop: the pool on the device, the optimizer, the schedule."""

    def __init__(self, run: Run, job: FitJob, res: StageResult) -> None:
        import torch

        self.run, self.job, self.res, self.sc = run, job, res, job.sc
        self.images = torch.from_numpy(job.pool[0])
        self.labels = torch.from_numpy(job.pool[1])
        cuda = str(run.device).startswith("cuda")
        if cuda:
            # The pool lives on the GPU (uint8: 21k crops at 224 x 160 are ~2.3 GB), so a step
            # gathers its batch there; matmuls may use TF32 and the forward runs in bf16.
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
            self.images, self.labels = self.images.to(run.device), self.labels.to(run.device)
        self.amp = cuda and run.cfg.amp
        job.net.to(run.device)
        if run.cfg.channels_last:
            job.net.to(memory_format=torch.channels_last)
        if job.loss_mod is not None:
            job.loss_mod.to(run.device)
        if run.auto_threads:
            pick_threads(run, job.net, job.card, self.images, self.sc.batch_size)
        params = list(job.net.parameters()) + (
            list(job.loss_mod.parameters()) if job.loss_mod is not None else []
        )
        self.opt = torch.optim.AdamW(params, lr=self.sc.lr, weight_decay=self.sc.weight_decay)
        self.total = self.sc.epochs * self.sc.steps_per_epoch
        # With a time budget the schedule follows elapsed time (whichever of steps and time is
        # further along), so a budgeted run still anneals and ends on a low learning rate.
        self.budget_s = self.sc.max_minutes * 60.0
        self.gstep, self.elapsed, self.start = 0, 0.0, 0
        self.history: list[dict[str, float]] = []
        self.resume_key = f"{job.model_dir}/{layout.RESUME_CHECKPOINT}"
        self.lr_now = self.sc.lr
        d = run.cfg.data
        self.sampler = (
            HardClassSampler(job.pool[1], d.hard_class_frac)
            if d.hard_class_frac > 0 and job.prototypes is not None
            else None
        )
        self.refresher = None
        self.pools_used = 1

    def resume(self) -> None:
        run, job = self.run, self.job
        if not run.store.exists(self.resume_key) or run.force:
            return
        # Not verified against the project manifest: the store writes the file (atomically)
        # and then records its sha256, so a run killed between the two leaves a whole, newer
        # checkpoint beside an older manifest entry - exactly the case resuming is for. The
        # checkpoint carries its own inputs hash, checked below.
        ck = load_checkpoint_bytes(
            run.store.get_bytes(self.resume_key, verify=False), f"{run.store.url}{self.resume_key}"
        )
        if ck.get("inputs_hash") != job.inputs_hash:
            log.info("%s: ignoring %s, it was made from other inputs", job.stage, self.resume_key)
            return
        job.net.load_state_dict(ck["model"])
        if job.loss_mod is not None and "loss" in ck:
            job.loss_mod.load_state_dict(ck["loss"])
        self.opt.load_state_dict(ck["optimizer"])
        self.gstep, self.elapsed = int(ck.get("step", 0)), float(ck.get("train_seconds", 0.0))
        self.start = int(ck["epoch"]) + 1
        self.history = list(ck.get("history", []))
        self.res.resumed_from_epoch = int(ck["epoch"])
        log.warning(
            "%s: resuming from the checkpoint of epoch %d (%s)", job.stage, ck["epoch"], self.resume_key
        )

    def start_refresher(self) -> None:
        d = self.run.cfg.data
        if d.refresh_every:
            self.refresher = PoolRefresher(
                self.run.cards,
                d.views_per_card,
                tuple(self.sc.input_size),
                d.photo_config,
                self.run.pool_workers,
            )
            self.refresher.start()

    def step(
        self, rng: np.random.Generator, gen: Any, t0: float, epoch: int, step: int
    ) -> tuple[float, dict[str, float]]:
        """One optimizer step on a batch drawn from the pool; its loss and loss parts."""
        import torch

        run, job, sc = self.run, self.job, self.sc
        if self.sampler is not None:
            idx_np = self.sampler.draw(rng, sc.batch_size)
        else:
            idx_np = rng.integers(0, len(self.labels), sc.batch_size)
        idx = torch.from_numpy(idx_np).to(self.images.device)
        x = run.to_input(self.images[idx], job.card)
        y = self.labels[idx].to(run.device)
        if run.cfg.data.tensor_aug:
            x = tensor_jitter(x, gen)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            emb = job.net(x)
        # The loss stays in float32: gallery cosines of near-duplicate cards differ in the
        # third decimal, below bf16's resolution.
        loss, parts = job.loss_fn(emb.float(), y)
        if self.sampler is not None:
            self.sampler.update(emb.detach().float(), job.prototypes().detach().float(), y)
        progress_now = self.gstep / self.total
        if self.budget_s:
            progress_now = max(progress_now, (self.elapsed + time.perf_counter() - t0) / self.budget_s)
        self.lr_now = sc.lr * _lr_factor(progress_now, sc.warmup_frac)
        for g in self.opt.param_groups:
            g["lr"] = self.lr_now
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.gstep += 1
        lv = float(loss.detach())
        if not math.isfinite(lv):
            raise ModelError(
                f"{job.stage}: loss became {lv} at epoch {epoch} step {step}; lower the learning rate"
            )
        return lv, parts

    def epoch(self, epoch: int, advance: Any) -> float:
        """One epoch of steps (with a profiler trace of the first when asked); its seconds."""
        import torch

        run, job, sc = self.run, self.job, self.sc
        rng = np.random.default_rng([run.cfg.seed, STAGES.index(job.stage), epoch])
        gen = torch.Generator().manual_seed(run.cfg.seed * 1000 + epoch)
        job.net.train()
        losses: list[float] = []
        parts_sum: dict[str, float] = {}
        t0 = time.perf_counter()
        prof = start_trace(run) if run.trace and epoch == self.start else None
        for step in range(sc.steps_per_epoch):
            lv, parts = self.step(rng, gen, t0, epoch, step)
            losses.append(lv)
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
            if prof is not None:
                prof.step()
                if step >= 5:
                    stop_trace(run, prof, job.stage, job.card.architecture)
                    prof = None
            advance(1)
        if prof is not None:
            stop_trace(run, prof, job.stage, job.card.architecture)
        dt_s = time.perf_counter() - t0
        self.elapsed += dt_s
        rec = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "images_per_s": sc.steps_per_epoch * sc.batch_size / dt_s,
            "lr": self.lr_now,
            **{k: v / sc.steps_per_epoch for k, v in parts_sum.items()},
        }
        self.history.append(rec)
        log.info(
            "%s epoch %d/%d loss %.4f (%.1f img/s)",
            job.stage,
            epoch + 1,
            sc.epochs,
            rec["loss"],
            rec["images_per_s"],
        )
        run.tracker.log_metrics({f"{job.stage}.{k}": v for k, v in rec.items() if k != "epoch"}, step=epoch)
        return dt_s

    def checkpoint(self, epoch: int) -> None:
        job = self.job
        extra = {"loss": job.loss_mod.state_dict()} if job.loss_mod is not None else {}
        self.run.store.put_bytes(
            self.resume_key,
            state_dict_bytes(
                job.net,
                {
                    "epoch": epoch,
                    "inputs_hash": job.inputs_hash,
                    "optimizer": self.opt.state_dict(),
                    "step": self.gstep,
                    "train_seconds": self.elapsed,
                    "history": self.history,
                    **extra,
                },
            ),
        )

    def maybe_swap_pool(self, epoch: int) -> None:
        """A fresh photo pool after every ``refresh_every`` epochs, only when it is ready:
        training never waits for it."""
        import torch

        d = self.run.cfg.data
        if self.refresher is None or (epoch + 1 - self.start) % d.refresh_every != 0:
            return
        fresh = self.refresher.ready()
        if fresh is None:
            return
        self.images = torch.from_numpy(fresh[0]).to(self.images.device)
        self.labels = torch.from_numpy(fresh[1]).to(self.labels.device)
        if self.sampler is not None:
            self.sampler.set_labels(fresh[1])
        self.pools_used += 1
        log.info(
            "%s: fresh photo pool %d swapped in after epoch %d", self.job.stage, self.pools_used, epoch + 1
        )

    def over_budget(self, epoch: int) -> bool:
        sc = self.sc
        if not (self.budget_s and self.elapsed >= self.budget_s):
            return False
        log.warning(
            "%s: time budget of %.1f min reached after epoch %d", self.job.stage, sc.max_minutes, epoch + 1
        )
        self.res.note = (
            f"stopped by the {sc.max_minutes:g} min budget after {epoch + 1} of {sc.epochs} epochs"
        )
        return True


def fit_network(run: Run, job: FitJob, res: StageResult) -> list[dict[str, float]]:
    """The shared training loop: per-epoch checkpoint, resume, pool refresh, time budget,
    tracking, optional trace; returns the per-epoch history."""
    loop = _Loop(run, job, res)
    loop.resume()
    seen, train_s = 0, 0.0
    loop.start_refresher()
    sc = job.sc
    with (
        progress((sc.epochs - loop.start) * sc.steps_per_epoch, f"{job.stage} ({run.device})") as advance,
        contextlib.closing(loop.refresher) if loop.refresher is not None else contextlib.nullcontext(),
    ):
        for epoch in range(loop.start, sc.epochs):
            dt_s = loop.epoch(epoch, advance)
            seen += sc.steps_per_epoch * sc.batch_size
            train_s += dt_s
            loop.checkpoint(epoch)
            res.epochs_run += 1
            loop.maybe_swap_pool(epoch)
            if loop.over_budget(epoch):
                break
    res.images_per_s = seen / train_s if train_s else None
    res.metrics["photo_pools"] = loop.pools_used
    if loop.sampler is not None:
        res.metrics["hardest_classes"] = loop.sampler.hardest(5)
    job.net.eval()
    return loop.history
