"""The training pipeline: resumable, skippable stages over one project root.

Stages (``STAGES``): catalog -> teacher -> gallery -> student -> evaluate -> export ->
reference. Each stage hashes its inputs (catalogue content hash, its config section, the
sha256 of the upstream artifacts and of any weights file) and writes a stamp
(``layout.training_stamp``) with the hash and the sha256 of its outputs; a rerun whose
hash matches and whose outputs are intact skips the stage. The two training stages write a
checkpoint every epoch (``RESUME_CHECKPOINT`` beside the model) and a rerun with the same
inputs resumes from it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.catalog import build_catalog, load_processed
from pokecard.errors import ConfigError, ModelError
from pokecard.export.onnx import export_onnx
from pokecard.modelcard import ModelCard
from pokecard.models import (
    create_model,
    load_checkpoint_bytes,
    model_from_checkpoint,
    parameter_count,
    resolve,
    state_dict_bytes,
)
from pokecard.preprocess import resize_batch
from pokecard.progress import progress
from pokecard.reference.build import build_reference
from pokecard.store import LocalStore, open_store, sha256_bytes, sha256_file
from pokecard.train.config import STAGES, StageConfig, TrainConfig, load_preset
from pokecard.train.data import HardClassSampler, PoolRefresher, make_views, tensor_jitter, training_pool
from pokecard.train.tracking import append_csv, open_tracker, record_run_index, update_lineage

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    stage: str
    status: str  # ran | skipped | unavailable
    seconds: float = 0.0
    resumed_from_epoch: int | None = None
    epochs_run: int = 0
    images_per_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class TrainResult:
    root: str
    preset: str
    version: str
    device: str
    run_id: str | None
    stages: list[StageResult]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage == name), None)


def _filesha256_bytes(path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return None

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: weights file not found")
    return sha256_file(p)


def _today() -> str:
    return dt.date.today().isoformat()


class _Run:
    """State shared by the stages of one `pokecard train` invocation."""

    def __init__(
        self,
        store: Any,
        cfg: TrainConfig,
        *,
        teacher_weights: str | None,
        student_weights: str | None,
        trace: bool,
        force: bool,
        track: bool,
        device: str | None,
    ) -> None:
        import torch

        self.store = store
        self.cfg = cfg
        self.v = cfg.version
        self.teacher_weights = teacher_weights
        self.student_weights = student_weights
        self.trace = trace
        self.force = force
        self.track = track
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        # threads = 0 on a multi-core CPU: each training stage measures which is faster
        self.auto_threads = not cfg.threads and self.device == "cpu" and (os.cpu_count() or 1) > 1
        self.tracker: Any = None
        self._catalog: Any = None
        self._cards: list[np.ndarray] | None = None
        self._eval: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def pool_workers(self) -> int:
        """Processes that simulate photos: ``data.workers``, 0 meaning one per core."""
        return self.cfg.data.workers or (os.cpu_count() or 1)

    # -- catalogue ----------------------------------------------------------------
    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            self._catalog = load_processed(self.store)
            if len(self._catalog.cards) < 2:
                raise ConfigError(
                    f"{self.store.url}: the catalogue has {len(self._catalog.cards)} card(s); training needs >= 2"
                )
        return self._catalog

    @property
    def catalog_hash(self) -> str:
        return str(self.store.get_json(layout.PROCESSED_INDEX).get("content_hash", ""))

    @property
    def card_ids(self) -> list[str]:
        return [c.card_id for c in self.catalog.cards]

    @property
    def cards(self) -> list[np.ndarray]:
        if self._cards is None:
            self._cards = [self.catalog.load_image(c) for c in self.catalog.cards]
        return self._cards

    def eval_photos(self) -> tuple[np.ndarray, np.ndarray]:
        """Held-out simulated photos (eval seeds only), canonical size, cached."""
        if self._eval is None:
            d = self.cfg.data
            self._eval = make_views(
                self.cards,
                d.eval_photos_per_card,
                config_name=d.eval_photo_config,
                evaluation=True,
                hw=None,
                workers=self.pool_workers,
                catalog_hash=self.catalog_hash,
                description="held-out photos",
            )
        return self._eval

    # -- store helpers ------------------------------------------------------------
    def sha_of(self, key: str) -> str:
        producer = {
            layout.teacher_checkpoint(self.v): "teacher",
            layout.teacher_gallery(self.v): "gallery",
            layout.student_checkpoint(self.v): "student",
            layout.student_onnx(self.v): "export",
        }
        if key in producer:
            self.need(key, producer[key])
        rec = self.store.recorded(key)
        if rec is not None:
            return str(rec["sha256"])
        return sha256_bytes(self.store.get_bytes(key))

    def need(self, key: str, stage: str) -> None:
        if not self.store.exists(key):
            raise ModelError(
                f"{self.store.url}{key} does not exist: run `pokecard train --stage {stage}` (or the whole pipeline) first"
            )

    def local_file(self, key: str, tmpdir: str) -> Path:
        if isinstance(self.store, LocalStore):
            return self.store.path(key)
        return self.store.get_file(key, Path(tmpdir) / Path(key).name)

    def load_card(self, model_dir: str) -> ModelCard:
        key = layout.model_card(model_dir)
        self.need(key, "teacher" if model_dir.startswith(layout.TEACHER_DIR) else "student")
        return ModelCard.from_dict(self.store.get_json(key), f"{self.store.url}{key}")

    def load_net(self, ckpt_key: str, model_dir: str) -> tuple[Any, ModelCard]:
        card = self.load_card(model_dir)
        self.need(ckpt_key, "teacher" if model_dir.startswith(layout.TEACHER_DIR) else "student")
        ckpt = load_checkpoint_bytes(self.store.get_bytes(ckpt_key), f"{self.store.url}{ckpt_key}")
        return model_from_checkpoint(ckpt, card).to(self.device), card

    def gallery(self) -> np.ndarray:
        key = layout.teacher_gallery(self.v)
        self.need(key, "gallery")
        g = np.load(io.BytesIO(self.store.get_bytes(key)))
        if g.shape[0] != len(self.card_ids):
            raise ModelError(
                f"{self.store.url}{key} has {g.shape[0]} rows for {len(self.card_ids)} cards: rerun --stage gallery"
            )
        return g

    # -- stamps -------------------------------------------------------------------
    def inputs(self, stage: str) -> dict[str, Any]:
        c, v = self.cfg, self.v
        if stage == "teacher":
            return {
                "catalog": self.catalog_hash,
                "teacher": asdict(c.teacher),
                "loss": asdict(c.loss),
                "data": asdict(c.data),
                "seed": c.seed,
                "weights": _filesha256_bytes(self.teacher_weights),
            }
        if stage == "gallery":
            return {"catalog": self.catalog_hash, "teacher": self.sha_of(layout.teacher_checkpoint(v))}
        if stage == "student":
            return {
                "catalog": self.catalog_hash,
                "gallery": self.sha_of(layout.teacher_gallery(v)),
                "student": asdict(c.student),
                "loss": asdict(c.loss),
                "data": asdict(c.data),
                "seed": c.seed,
                "weights": _filesha256_bytes(self.student_weights),
            }
        if stage == "evaluate":
            return {
                "catalog": self.catalog_hash,
                "teacher": self.sha_of(layout.teacher_checkpoint(v)),
                "gallery": self.sha_of(layout.teacher_gallery(v)),
                "student": self.sha_of(layout.student_checkpoint(v)),
                "eval": [c.data.eval_photos_per_card, c.data.eval_photo_config],
            }
        if stage == "export":
            return {"student": self.sha_of(layout.student_checkpoint(v))}
        if stage == "reference":
            return {"catalog": self.catalog_hash, "onnx": self.sha_of(layout.student_onnx(v))}
        raise ConfigError(f"unknown stage {stage!r}")

    def stamp_ok(self, stage: str, h: str) -> bool:
        key = layout.training_stamp(self.v, stage)
        if self.force or not self.store.exists(key):
            return False
        st = self.store.get_json(key)
        if st.get("inputs_hash") != h:
            return False
        for k, sha in st.get("outputs", {}).items():
            if not self.store.exists(k):
                return False
            rec = self.store.recorded(k)
            if rec is not None and rec["sha256"] != sha:
                return False
        return True

    def write_stamp(self, stage: str, h: str, inputs: dict[str, Any], res: StageResult) -> None:
        self.store.put_json(
            layout.training_stamp(self.v, stage),
            {
                "stage": stage,
                "inputs_hash": h,
                "inputs": inputs,
                "outputs": res.outputs,
                "metrics": res.metrics,
                "seconds": round(res.seconds, 2),
                "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "preset": self.cfg.name,
                "run_id": self.tracker.run_id if self.tracker else None,
            },
        )

    # -- torch helpers ------------------------------------------------------------
    def to_input(self, batch_u8: Any, card: ModelCard) -> Any:
        """uint8 NHWC (torch) -> normalized float NCHW on the device (channels_last when set)."""
        import torch

        x = batch_u8.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(card.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(card.std, device=self.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x.contiguous()

    def embed(
        self, net: Any, card: ModelCard, images: np.ndarray | list[np.ndarray], batch: int = 64
    ) -> np.ndarray:
        import torch

        x = resize_batch(images, card)
        out = []
        net.eval()
        with torch.no_grad():
            for i in range(0, len(x), batch):
                out.append(net(self.to_input(torch.from_numpy(x[i : i + batch]), card)).float().cpu().numpy())
        return np.concatenate(out)


# ----------------------------------------------------------------------------- stages
def _make_card(run: _Run, name: str, sc: StageConfig, net: Any) -> ModelCard:
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


def _fit(
    run: _Run,
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
        _pick_threads(run, net, card, images, sc.batch_size)
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


def _pick_threads(run: _Run, net: Any, card: ModelCard, images: Any, batch: int) -> None:
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


def _start_trace(run: _Run) -> Any:
    import torch

    acts = [torch.profiler.ProfilerActivity.CPU]
    if run.device == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    prof = torch.profiler.profile(
        activities=acts, schedule=torch.profiler.schedule(wait=1, warmup=1, active=3), record_shapes=True
    )
    prof.__enter__()
    return prof


def _stop_trace(run: _Run, prof: Any, stage: str, arch: str) -> None:
    prof.__exit__(None, None, None)
    key = f"{layout.profiling_dir(arch, _today())}/{stage}_trace.json"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "trace.json"
        prof.export_chrome_trace(str(p))
        run.store.put_file(key, p)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)
        run.store.put_bytes(f"{layout.profiling_dir(arch, _today())}/{stage}_top_ops.txt", table.encode())
    log.warning("profiler trace of %s written to %s%s", stage, run.store.url, key)


def _finish_training(
    run: _Run,
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


def _net_and_pool(run: _Run, role: str, sc: StageConfig, weights: Any) -> tuple[Any, ModelCard, Any]:
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


def stage_teacher(run: _Run, h: str, res: StageResult) -> None:
    from pokecard.train.losses import NormSoftmax

    sc, v = run.cfg.teacher, run.v
    net, card, pool = _net_and_pool(run, "teacher", sc, run.teacher_weights)
    loss_mod = NormSoftmax(len(run.cards), sc.embedding_dim, run.cfg.loss.scale, run.cfg.loss.margin)

    def loss_fn(emb: Any, y: Any) -> tuple[Any, dict[str, float]]:
        loss = loss_mod(emb, y)
        return loss, {}

    history = _fit(
        run,
        "teacher",
        sc,
        net,
        card,
        loss_mod,
        loss_fn,
        pool,
        layout.teacher_dir(v),
        h,
        res,
        prototypes=lambda: loss_mod.proxies,
    )
    _finish_training(
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
            "init": _filesha256_bytes(run.teacher_weights) or "random",
        },
    )


def stage_gallery(run: _Run, h: str, res: StageResult) -> None:
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


def stage_student(run: _Run, h: str, res: StageResult) -> None:
    import torch

    from pokecard.train.losses import NormSoftmax, distill_loss

    sc, v, lc = run.cfg.student, run.v, run.cfg.loss
    gallery = torch.from_numpy(run.gallery()).to(run.device)
    net, card, pool = _net_and_pool(run, "student", sc, run.student_weights)
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

    history = _fit(
        run,
        "student",
        sc,
        net,
        card,
        id_loss,
        loss_fn,
        pool,
        layout.student_dir(v),
        h,
        res,
        prototypes=(lambda: id_loss.proxies) if id_loss is not None else (lambda: gallery),
    )
    _finish_training(
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
            "init": _filesha256_bytes(run.student_weights) or "random",
        },
    )


def choose_gallery(metrics: dict[str, dict[str, float]]) -> tuple[str, str]:
    """The gallery the device should search: the better of student->teacher and
    student->student by top-1, then 5th-percentile margin (robustness on hard photos)."""
    a, b = metrics["student->teacher"], metrics["student->student"]
    ka, kb = (a["top1"], a["margin_p5"]), (b["top1"], b["margin_p5"])
    if kb >= ka:
        return "student", (
            f"student->student gallery top-1 {b['top1']:.3f} (p5 margin {b['margin_p5']:.3f}) >= "
            f"student->teacher {a['top1']:.3f} ({a['margin_p5']:.3f}); it also needs no teacher "
            "to add a card"
        )
    return "teacher", (
        f"student->teacher gallery top-1 {a['top1']:.3f} (p5 margin {a['margin_p5']:.3f}) > "
        f"student->student {b['top1']:.3f} ({b['margin_p5']:.3f})"
    )


def stage_evaluate(run: _Run, h: str, res: StageResult) -> None:
    from pokecard.train.losses import retrieval_metrics

    v = run.v
    teacher, tcard = run.load_net(layout.teacher_checkpoint(v), layout.teacher_dir(v))
    student, scard = run.load_net(layout.student_checkpoint(v), layout.student_dir(v))
    photos, labels = run.eval_photos()
    tgal = run.gallery()
    t0 = time.perf_counter()
    t_q = run.embed(teacher, tcard, photos)
    t_teacher = time.perf_counter() - t0
    t0 = time.perf_counter()
    s_q = run.embed(student, scard, photos)
    t_student = time.perf_counter() - t0
    s_gal = run.embed(student, scard, run.cards)
    metrics = {
        "teacher->teacher": retrieval_metrics(t_q, tgal, labels),
        "student->teacher": retrieval_metrics(s_q, tgal, labels),
        "student->student": retrieval_metrics(s_q, s_gal, labels),
    }
    default, why = choose_gallery(metrics)
    report = {
        "version": v,
        "preset": run.cfg.name,
        "photos": int(len(labels)),
        "cards": len(run.cards),
        "photo_config": run.cfg.data.eval_photo_config,
        "seeds": f"eval_seed(card_index, k), k < {run.cfg.data.eval_photos_per_card}",
        "metrics": metrics,
        "default_gallery": default,
        "why": why,
        "embed_images_per_s": {"teacher": len(photos) / t_teacher, "student": len(photos) / t_student},
    }
    key = f"{layout.student_dir(v)}/{layout.EVAL_REPORT}"
    run.store.put_json(key, report)
    scard.metrics = {
        **scard.metrics,
        **{f"{k}.{m}": x for k, d in metrics.items() for m, x in d.items()},
        "default_gallery": default,
    }
    scard.extra = {**scard.extra, "default_gallery": default}
    run.store.put_json(layout.model_card(layout.student_dir(v)), scard.as_dict())
    tcard.metrics = {
        **tcard.metrics,
        **{f"teacher->teacher.{m}": x for m, x in metrics["teacher->teacher"].items()},
    }
    run.store.put_json(layout.model_card(layout.teacher_dir(v)), tcard.as_dict())
    res.outputs = {key: run.sha_of(key)}
    res.metrics = {
        **{f"{k}.{m}": x for k, d in metrics.items() for m, x in d.items()},
        "default_gallery": default,
    }
    res.images_per_s = len(photos) / t_student
    res.note = why
    run.tracker.log_metrics({f"eval.{k}.{m}": x for k, d in metrics.items() for m, x in d.items()})
    rows = [
        {
            "date": _today(),
            "run_id": run.tracker.run_id or "",
            "version": v,
            "preset": run.cfg.name,
            "catalog": run.catalog_hash[:16],
            "cards": len(run.cards),
            "query_model": k.split("->")[0],
            "gallery": k.split("->")[1],
            "photos": d["n"],
            "top1": round(d["top1"], 4),
            "top5": round(d["top5"], 4),
            "margin_mean": round(d["margin_mean"], 4),
            "margin_p5": round(d["margin_p5"], 4),
            "default": k == f"student->{default}",
        }
        for k, d in metrics.items()
    ]
    append_csv(run.store, layout.MODEL_PERFORMANCE, rows)


def _cpu_latency_ms(net: Any, card: ModelCard, repeats: int = 8) -> float:
    import torch

    net = net.eval().to("cpu")
    x = torch.randn(1, 3, *card.input_size)
    with torch.no_grad():
        for _ in range(2):
            net(x)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x)
            ts.append(time.perf_counter() - t0)
    return float(np.median(ts) * 1000)


def _onnx_latency_ms(path: Path, card: ModelCard, repeats: int = 20) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.zeros((1, *card.input_size, 3), dtype=np.uint8)
    for _ in range(3):
        sess.run(None, {"images": x})
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess.run(None, {"images": x})
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts) * 1000)


def stage_export(run: _Run, h: str, res: StageResult) -> None:
    v = run.v
    student, scard = run.load_net(layout.student_checkpoint(v), layout.student_dir(v))
    student = student.to("cpu")
    key = layout.student_onnx(v)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / layout.STUDENT_ONNX
        rep = export_onnx(student, scard, out, sample_images=np.stack(run.cards[:32]) if run.cards else None)
        sha = run.store.put_file(key, out)
        scard.onnx_sha256 = sha
        scard.extra = {
            **scard.extra,
            "onnx": {
                "opset": rep.opset,
                "parity_min_cosine": rep.parity_min_cosine,
                "parity_images": rep.parity_images,
                "slimmed": rep.slimmed,
            },
        }
        run.store.put_json(layout.model_card(layout.student_dir(v)), scard.as_dict())
        onnx_ms = _onnx_latency_ms(out, scard)
        # Compression: teacher vs student, as on disk and on this CPU.
        rows = []
        try:
            teacher, tcard = run.load_net(layout.teacher_checkpoint(v), layout.teacher_dir(v))
            t_size = len(run.store.get_bytes(layout.teacher_checkpoint(v)))
            rows.append(
                {
                    "date": _today(),
                    "version": v,
                    "preset": run.cfg.name,
                    "model": "teacher",
                    "architecture": tcard.architecture,
                    "parameters": tcard.parameters,
                    "format": "pt",
                    "size_bytes": t_size,
                    "input_size": "x".join(map(str, tcard.input_size)),
                    "cpu_latency_ms": round(_cpu_latency_ms(teacher, tcard), 2),
                }
            )
        except ModelError:
            t_size = None
        s_size = len(run.store.get_bytes(layout.student_checkpoint(v)))
        s_ms = _cpu_latency_ms(student, scard)
        for fmt, size, ms in (("pt", s_size, s_ms), ("onnx", rep.size_bytes, onnx_ms)):
            rows.append(
                {
                    "date": _today(),
                    "version": v,
                    "preset": run.cfg.name,
                    "model": "student",
                    "architecture": scard.architecture,
                    "parameters": scard.parameters,
                    "format": fmt,
                    "size_bytes": size,
                    "input_size": "x".join(map(str, scard.input_size)),
                    "cpu_latency_ms": round(ms, 2),
                    "compression_vs_teacher": round(t_size / size, 2) if t_size else "",
                }
            )
        append_csv(run.store, layout.COMPRESSION_METRICS, rows)
        run.tracker.log_artifact(out, "onnx")
        card_tmp = Path(d) / layout.MODEL_CARD
        scard.save(card_tmp)
        run.tracker.log_artifact(card_tmp, "onnx")
    res.outputs = {key: sha}
    res.metrics = {
        "parity_min_cosine": rep.parity_min_cosine,
        "onnx_bytes": rep.size_bytes,
        "slimmed": rep.slimmed,
        "onnx_cpu_latency_ms": round(onnx_ms, 2),
    }
    run.tracker.log_metrics(
        {"export.parity_min_cosine": rep.parity_min_cosine, "export.onnx_cpu_latency_ms": onnx_ms}
    )
    update_lineage(
        run.store, v, "onnx", {"sha256": sha, "from_student": scard.weights_sha256, "opset": rep.opset}
    )


def stage_reference(run: _Run, h: str, res: StageResult) -> None:
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


STAGE_FUNCS = {
    "teacher": stage_teacher,
    "gallery": stage_gallery,
    "student": stage_student,
    "evaluate": stage_evaluate,
    "export": stage_export,
    "reference": stage_reference,
}


def train(
    root: str | os.PathLike[str] | None,
    *,
    catalog: str | os.PathLike[str] | None = None,
    preset: str | TrainConfig = "demo",
    stages: list[str] | None = None,
    teacher_weights: str | None = None,
    student_weights: str | None = None,
    trace: bool = False,
    force: bool = False,
    track: bool = True,
    version: str | None = None,
    device: str | None = None,
) -> TrainResult:
    """Run the pipeline (or the named ``stages``) on ``root``; returns what each stage did."""
    import dataclasses

    cfg = preset if isinstance(preset, TrainConfig) else load_preset(preset)
    if version:
        layout.teacher_dir(version)  # validates
        cfg = dataclasses.replace(cfg, version=version)
    wanted = list(stages) if stages else list(STAGES)
    bad = [s for s in wanted if s not in STAGES]
    if bad:
        raise ConfigError(f"unknown stage(s) {', '.join(bad)}: use {', '.join(STAGES)}")
    store = open_store(root)
    run = _Run(
        store,
        cfg,
        teacher_weights=teacher_weights,
        student_weights=student_weights,
        trace=trace,
        force=force,
        track=track,
        device=device,
    )
    results: list[StageResult] = []
    if "catalog" in wanted:
        if catalog is not None:
            t0 = time.perf_counter()
            rep = build_catalog(catalog, store)
            results.append(
                StageResult(
                    "catalog",
                    "ran",
                    time.perf_counter() - t0,
                    metrics={
                        "cards": rep.cards,
                        "processed": len(rep.processed),
                        "unchanged": len(rep.unchanged),
                    },
                )
            )

            update_lineage(
                store,
                cfg.version,
                "catalog",
                {"content_hash": rep.content_hash, "source": str(catalog), "cards": rep.cards},
            )
        elif not store.exists(layout.PROCESSED_INDEX):
            raise ConfigError(f"{store.url}: no catalogue in this root; pass --catalog DIR")
        else:
            results.append(
                StageResult("catalog", "skipped", note="no --catalog: using the catalogue in the root")
            )
    todo = [s for s in STAGES[1:] if s in wanted]
    run.tracker = open_tracker(
        store,
        track and bool(todo),
        f"{cfg.name}-{cfg.version}",
        {"preset": cfg.name, "version": cfg.version, "device": run.device},
    )
    run.tracker.log_params(
        {
            "preset": cfg.name,
            "device": run.device,
            "stages": ",".join(todo),
            "catalog_cards": len(run.card_ids) if todo else 0,
            **cfg.as_dict(),
        }
    )
    status = "FAILED"
    try:
        for name in todo:
            inputs = run.inputs(name)
            h = sha256_bytes(json.dumps(inputs, sort_keys=True, default=str).encode())
            if run.stamp_ok(name, h):
                results.append(StageResult(name, "skipped", note="inputs unchanged"))
                log.info("%s: skipped (inputs unchanged)", name)
                continue
            res = StageResult(name, "ran")
            t0 = time.perf_counter()
            STAGE_FUNCS[name](run, h, res)
            res.seconds = time.perf_counter() - t0
            if res.status == "ran":
                run.write_stamp(name, h, inputs, res)
                run.tracker.log_metrics({f"{name}.seconds": res.seconds})
            results.append(res)
        status = "FINISHED"
    finally:
        run.tracker.end(status)
    out = TrainResult(store.url, cfg.name, cfg.version, run.device, run.tracker.run_id, results)
    if any(r.status == "ran" for r in results if r.stage != "catalog"):
        record_run_index(
            store,
            run.tracker,
            {
                "preset": cfg.name,
                "version": cfg.version,
                "device": run.device,
                "stages": {r.stage: r.status for r in results},
            },
        )
    return out
