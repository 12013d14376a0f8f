"""Photos per second on one core and on all cores (workers fed from a shared queue, timed after start-up), and what embedding both orientations costs."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import percentile
from pokecard.embed import create_embedder
from pokecard.recognize import Recognizer

log = logging.getLogger(__name__)


def photos_per_second(root: Path, files: list[Path], workers: int) -> float:
    """Photos/second of ``workers`` processes recognizing ``files`` together (decode included).

    The photos are handed out one at a time from a shared queue (a few verified photos take
    10x the median: a fixed split would leave one worker finishing alone). Start-up is not
    throughput: each worker loads the reference DB and recognizes one photo first, then all
    start at once (a barrier) and the clock runs from the first start to the last finish
    (wall clock, comparable across processes)."""
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers)
    todo, results = ctx.Queue(), ctx.Queue()
    for f in files:
        todo.put(str(f))
    for _ in range(workers):
        todo.put(None)
    procs = [
        ctx.Process(target=_worker, args=(str(root), str(files[0]), todo, barrier, results))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    out: list[tuple[int, float, float]] = []
    try:
        while len(out) < workers:
            try:
                out.append(results.get(timeout=2))
            except queue.Empty:
                dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                if dead:  # its traceback is on stderr
                    raise RuntimeError(f"throughput: a worker process failed (exit code {dead[0]})") from None
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    return sum(n for n, _, _ in out) / (max(t1 for _, _, t1 in out) - min(t0 for _, t0, _ in out))


def _worker(root: str, warm: str, todo: Any, barrier: Any, results: Any) -> None:
    rec = Recognizer(root, threads=1)
    rec.recognize_file(warm)  # warm-up: first-call allocations and lazy set-up
    barrier.wait(timeout=600)
    t0, n = time.time(), 0
    while (f := todo.get()) is not None:
        rec.recognize_file(f)
        n += 1
    results.put((n, t0, time.time()))


def orientation_cost(model: str | os.PathLike[str], crop: np.ndarray, reps: int = 30) -> dict[str, float]:
    """The 180-degree ambiguity: p50 ms (one thread) to embed one crop vs the crop and its 180-degree turn."""
    emb = create_embedder(model, threads=1)
    turned = np.ascontiguousarray(crop[::-1, ::-1])
    emb.embed([crop, turned])  # warm-up
    one, two = [], []
    for _ in range(reps):  # interleaved, so load changes hit both alike
        t0 = time.perf_counter()
        emb.embed([crop])
        one.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        emb.embed([crop, turned])
        two.append((time.perf_counter() - t0) * 1000)
    return {"one": round(percentile(one, 50), 2), "both": round(percentile(two, 50), 2)}
