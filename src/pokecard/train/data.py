"""Training data: pools of simulated crops, made off the training thread.

The photo simulator (``pokecard.photo.simulate_crop``) costs ~50-90 ms per crop on this
machine, far too slow to run inside the training step on 2 cores. So each stage draws its
batches from a *pool*: ``views_per_card`` simulated crops per card (training seeds only,
plus the clean card itself) made by worker processes and cached on disk keyed by
everything that determines them; cheap tensor jitter (shift/scale/rotation, light) is added
per step. With ``refresh_every`` a background thread drives worker processes that make the next
pool while training runs (:class:`PoolRefresher`, the GPU preset).

Held-out evaluation photos come from :func:`pokecard.photo.eval_seed` (a disjoint seed
range), so no evaluation photo can ever be in a training pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing as mp
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import atomic
from pokecard.photo import SIMULATOR_VERSION, PhotoConfig, eval_seed, simulate_crop, train_seed
from pokecard.progress import progress

log = logging.getLogger(__name__)

POOL_FORMAT = "pool-v1"


def cache_dir() -> Path:
    base = os.environ.get("POKECARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pokecard"
    )
    return Path(base) / "pools"


def _simulator() -> tuple[Any, Any, Any, Any]:
    return simulate_crop, PhotoConfig, train_seed, eval_seed


def _resize(img: np.ndarray, hw: tuple[int, int] | None) -> np.ndarray:
    if hw is None or img.shape[:2] == tuple(hw):
        return img
    import cv2

    h, w = hw
    interp = cv2.INTER_AREA if img.shape[0] >= h else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)


def _card_views(args: tuple[np.ndarray, int, list[int], str, bool, tuple[int, int] | None]) -> np.ndarray:
    """Worker: the simulated crops of one card (seeds from the split), resized to ``hw``."""
    import cv2

    cv2.setNumThreads(1)
    card, index, ks, config_name, evaluation, hw = args
    simulate_crop, PhotoConfig, train_seed, eval_seed = _simulator()
    cfg = PhotoConfig.preset(config_name)
    seed_of = eval_seed if evaluation else train_seed
    return np.stack([_resize(simulate_crop(card, seed_of(index, k), cfg), hw) for k in ks])


def pool_key(
    catalog_hash: str,
    config_name: str,
    views: int,
    hw: tuple[int, int] | None,
    evaluation: bool,
    offset: int = 0,
) -> str:
    # The simulator's version is part of the key: a changed simulator never reuses old crops.
    s = f"{POOL_FORMAT}|{SIMULATOR_VERSION}|{catalog_hash}|{config_name}|{views}|{hw}|{evaluation}|{offset}"
    return hashlib.sha256(s.encode()).hexdigest()[:24]


def make_views(
    cards: Sequence[np.ndarray],
    views: int,
    *,
    config_name: str,
    evaluation: bool,
    hw: tuple[int, int] | None,
    workers: int = 2,
    offset: int = 0,
    catalog_hash: str | None = None,
    description: str = "simulating photos",
    show_progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``views`` simulated crops per card -> (uint8 [N*views, H, W, 3], int64 labels).

    Seeds: ``train_seed(i, offset + k)`` (or ``eval_seed`` when ``evaluation``). Cached on disk
    when ``catalog_hash`` is given.
    """
    cache: Path | None = None
    if catalog_hash is not None:
        cache = cache_dir() / f"{pool_key(catalog_hash, config_name, views, hw, evaluation, offset)}.npz"
        if cache.is_file():
            try:
                with np.load(cache) as z:
                    log.info("photo pool from cache %s", cache)
                    return z["images"], z["labels"]
            except (OSError, ValueError, KeyError):
                log.warning("%s: unreadable pool cache, rebuilding it", cache)
    tasks = [
        (c, i, list(range(offset, offset + views)), config_name, evaluation, hw) for i, c in enumerate(cards)
    ]
    out: list[np.ndarray] = []
    bar = progress(len(tasks), description) if show_progress else contextlib.nullcontext(lambda n=1: None)
    with bar as advance:
        if workers > 1 and len(tasks) > 1:
            ctx = mp.get_context("spawn")
            with ctx.Pool(min(workers, len(tasks))) as pool:
                for arr in pool.imap(_card_views, tasks, chunksize=1):
                    out.append(arr)
                    advance(1)
        else:
            for t in tasks:
                out.append(_card_views(t))
                advance(1)
    images = np.concatenate(out, axis=0)
    labels = np.repeat(np.arange(len(cards), dtype=np.int64), views)
    if cache is not None:
        import io

        buf = io.BytesIO()
        np.savez(buf, images=images, labels=labels)
        atomic.write_bytes(cache, buf.getvalue())
    return images, labels


def training_pool(
    cards: Sequence[np.ndarray],
    views: int,
    *,
    hw: tuple[int, int],
    config_name: str,
    workers: int,
    catalog_hash: str | None,
    offset: int = 0,
    show_progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated training crops plus each clean card once (the gallery's own view)."""
    imgs, labels = make_views(
        cards,
        views,
        config_name=config_name,
        evaluation=False,
        hw=hw,
        workers=workers,
        offset=offset,
        catalog_hash=catalog_hash,
        description="training photos",
        show_progress=show_progress,
    )
    clean = np.stack([_resize(c, hw) for c in cards])
    return np.concatenate([imgs, clean]), np.concatenate([labels, np.arange(len(cards), dtype=np.int64)])


class PoolRefresher:
    """Makes the next training pool while the current one trains (``refresh_every``).

    A background *thread* drives :func:`make_views` with its own worker processes (the
    thread only waits on them, so the training loop keeps the GIL), and the loop swaps the
    new pool in at the first epoch boundary after it is ready: training never waits for the
    simulator. Pool ``g`` uses training seeds ``g * views ...``, so no crop repeats and none
    is ever an evaluation seed. Refreshed pools are not cached on disk.
    """

    def __init__(
        self, cards: Sequence[np.ndarray], views: int, hw: tuple[int, int], config_name: str, workers: int
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.cards, self.views, self.hw, self.config_name = cards, views, hw, config_name
        self.workers = max(1, workers)
        self.generation = 0
        self._ex = ThreadPoolExecutor(1, thread_name_prefix="pool-refresh")
        self._next: Any = None

    def start(self) -> None:
        """Begin making the next generation's pool (no-op if one is already under way)."""
        if self._next is None:
            self.generation += 1
            self._next = self._ex.submit(
                training_pool,
                self.cards,
                self.views,
                hw=self.hw,
                config_name=self.config_name,
                workers=self.workers,
                catalog_hash=None,
                offset=self.generation * self.views,
                show_progress=False,
            )

    def ready(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The next pool if it is finished (and start the one after), else None."""
        if self._next is None or not self._next.done():
            return None
        pool = self._next.result()
        self._next = None
        self.start()
        return pool

    def close(self) -> None:
        if self._next is not None:
            self._next.cancel()
        self._ex.shutdown(wait=False, cancel_futures=True)


class HardClassSampler:
    """Batch indices that spend part of every batch on the cards the model still confuses.

    A share ``hard_frac`` of each batch is drawn from classes with probability proportional
    to a running (EMA) error per class - ``1 - softmax(cos(embedding, prototypes) / T)`` at
    the true card - and the rest uniformly from the pool. Uniform batches spend most steps on
    cards already learned, while the errors that remain sit in a few near-duplicate groups
    (reprints sharing art, told apart only by name and number).
    """

    def __init__(
        self, labels: np.ndarray, hard_frac: float, temperature: float = 0.05, decay: float = 0.9
    ) -> None:
        if not 0.0 < hard_frac <= 1.0:
            raise ValueError(f"hard_class_frac must be in (0, 1], got {hard_frac}")
        self.hard_frac, self.temperature, self.decay = hard_frac, temperature, decay
        self.set_labels(labels)
        self.error = np.ones(self.classes, dtype=np.float64)

    def set_labels(self, labels: np.ndarray) -> None:
        labels = np.asarray(labels)
        self.n = len(labels)
        self.classes = int(labels.max()) + 1
        self.members = [np.flatnonzero(labels == c) for c in range(self.classes)]

    def draw(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        k = int(round(self.hard_frac * batch))
        uniform = rng.integers(0, self.n, batch - k)
        if k == 0:
            return uniform
        w = self.error + 1e-3
        cls = rng.choice(self.classes, size=k, p=w / w.sum())
        hard = np.array([self.members[c][rng.integers(0, len(self.members[c]))] for c in cls], dtype=np.int64)
        return np.concatenate([uniform, hard])

    def update(self, emb: Any, prototypes: Any, labels: Any) -> None:
        """Fold one batch's per-sample errors into the per-class running error."""
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            sims = F.normalize(emb, dim=1) @ F.normalize(prototypes, dim=1).T
            p_true = torch.softmax(sims / self.temperature, dim=1).gather(1, labels.view(-1, 1)).squeeze(1)
            err = (1.0 - p_true).cpu().numpy()
        y = labels.cpu().numpy()
        for c in np.unique(y):
            self.error[c] = self.decay * self.error[c] + (1 - self.decay) * float(err[y == c].mean())

    def hardest(self, k: int) -> list[tuple[int, float]]:
        order = np.argsort(-self.error)[:k]
        return [(int(c), round(float(self.error[c]), 4)) for c in order]


def tensor_jitter(x: Any, generator: Any) -> Any:
    """Cheap per-step augmentation on a normalized float batch [B,3,H,W]: small affine
    (scale 0.92-1.08, shift +-4 %, rotation +-4 deg) and light (contrast/brightness)."""
    import math

    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    dev = x.device

    def u(lo: float, hi: float) -> Any:
        return torch.rand(b, generator=generator).to(dev) * (hi - lo) + lo

    s = u(0.92, 1.08)
    a = u(-4.0, 4.0) * math.pi / 180
    tx, ty = u(-0.04, 0.04), u(-0.04, 0.04)
    theta = torch.stack(
        [
            torch.stack([s * torch.cos(a), -s * torch.sin(a), tx], 1),
            torch.stack([s * torch.sin(a), s * torch.cos(a), ty], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    c = u(0.8, 1.2).view(b, 1, 1, 1)
    br = u(-0.2, 0.2).view(b, 1, 1, 1)
    return x * c + br
