"""One `pokecard train` invocation's state: the root, the config, the catalogue, the stamps that make stages resumable and skippable, and the tensors a network is fed."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.catalog import load_processed
from pokecard.errors import ConfigError, ModelError
from pokecard.modelcard import ModelCard
from pokecard.models import (
    load_checkpoint_bytes,
    model_from_checkpoint,
)
from pokecard.preprocess import normalize, resize_batch
from pokecard.store import LocalStore, Store, sha256_bytes, sha256_file
from pokecard.train.config import TrainConfig
from pokecard.train.data import make_views

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


def file_sha256(path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return None

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: weights file not found")
    return sha256_file(p)


def today() -> str:
    return dt.date.today().isoformat()


class Run:
    """State shared by the stages of one `pokecard train` invocation."""

    def __init__(
        self,
        store: Store,
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
                "weights": file_sha256(self.teacher_weights),
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
                "weights": file_sha256(self.student_weights),
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
        """uint8 NHWC (torch) -> normalized float NCHW on the device (channels_last when set),
        normalized exactly as the exported graph does it (pokecard.preprocess)."""
        import torch

        x = normalize(batch_u8.to(self.device, non_blocking=True), card.mean, card.std)
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
