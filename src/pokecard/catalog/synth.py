"""A generated demo catalogue: card-like images in the metadata.json format, deterministic.

synth_plan decides every card's identity (with deliberate near-duplicates), synth_card
draws each card (its art from synth_art); this module draws them in parallel worker
processes and writes images/ and metadata.json.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pokecard import atomic
from pokecard.catalog.model import METADATA_FILE, Card, Catalog
from pokecard.catalog.synth_card import render_card
from pokecard.catalog.synth_plan import (
    SET_CODE,
    SET_NAME,
    CardSpec,
    near_duplicates,
    plan,
    shared_keys,
)
from pokecard.errors import CatalogError
from pokecard.progress import progress

# What callers and tests import from here (the plan, the rates and the drawing live in synth_*).
__all__ = [
    "CardSpec",
    "CatalogError",
    "default_workers",
    "near_duplicates",
    "plan",
    "render_card",
    "shared_keys",
    "synth_catalog",
]

log = logging.getLogger(__name__)


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _draw(job: tuple[CardSpec, int, str]) -> None:
    """Render, encode and atomically write one card (in this process or a pool worker)."""
    import cv2

    spec, seed, path = job
    img = render_card(spec, seed)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise CatalogError(f"cannot encode card {spec.card_id}")
    atomic.write_bytes(path, buf.tobytes())


def _init_worker() -> None:
    # One process per core already: opencv's own threads would only oversubscribe it.
    import cv2

    cv2.setNumThreads(1)


def synth_catalog(n: int, out: str | Path, seed: int = 0, workers: int | None = None) -> Catalog:
    """Generate ``n`` cards into ``out`` (images/ + metadata.json); the same seed gives the same bytes.

    ``workers`` processes draw the cards (default: one per CPU; 1 draws in this process); the
    bytes do not depend on it. Images are written atomically as they are drawn, metadata.json
    last, so a folder with a metadata.json is complete.
    """
    if n < 1:
        raise CatalogError(f"--cards must be at least 1, got {n}")
    if workers is None:
        workers = default_workers()
    if workers < 1:
        raise CatalogError(f"--workers must be at least 1, got {workers}")
    workers = min(workers, n)
    root = Path(out).expanduser()
    (root / "images").mkdir(parents=True, exist_ok=True)
    specs = plan(n, seed)
    jobs = [(s, seed, str(root / f"images/{s.card_id}.jpg")) for s in specs]
    with progress(n, "drawing cards") as advance:
        if workers == 1:
            for job in jobs:
                _draw(job)
                advance(1)
        else:
            # spawn, not fork: the parent may hold threads (the progress bar's refresh thread)
            ctx = mp.get_context("spawn")
            chunk = max(1, min(16, n // (workers * 8)))
            ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
            try:
                for _ in ex.map(_draw, jobs, chunksize=chunk):
                    advance(1)
            except BaseException:
                ex.shutdown(cancel_futures=True)  # a failed card stops the run, not after all the others
                raise
            ex.shutdown()
    cards = [
        Card(s.card_id, s.name, SET_CODE, SET_NAME, s.number, f"images/{s.card_id}.jpg", s.rarity)
        for s in specs
    ]
    cat = Catalog(name=f"synthetic-{seed}", root=root, cards=cards)
    # Which cards share art (reprints) or a name (alternate art): lets evaluations report
    # accuracy on the near-duplicates separately.
    arts: dict[int, str] = {}
    variants = {}
    for sp in specs:
        arts.setdefault(sp.art_seed, sp.card_id)
        variants[sp.card_id] = {"kind": sp.kind, "type": sp.ptype, "art": arts[sp.art_seed]}
    dups = near_duplicates(specs)
    log.info(
        "%d cards: %.1f%% share their art, %.1f%% a name, %.1f%% alternate art",
        n,
        100 * dups["shared_art"]["share"],
        100 * dups["shared_name"]["share"],
        100 * dups["alternate_art"]["share"],
    )
    doc = cat.metadata() | {
        "generator": {
            "seed": seed,
            "cards": n,
            "kinds": _kinds(specs),
            "near_duplicates": dups,
            "variants": variants,
        }
    }
    atomic.write_json(root / METADATA_FILE, doc)
    return cat


def _kinds(specs: list[CardSpec]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in specs:
        out[s.kind] = out.get(s.kind, 0) + 1
    return out
