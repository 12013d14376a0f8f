"""`pokecard bench recognizer`: the recognizer's numbers, with two baselines in the same run.

What it measures (docs/recognizer.md explains each):

* accuracy (top-1) and time per photo on held-out simulated photos of the shared 218-card
  catalogue (``pokecard.photo`` eval preset, eval seeds), for: the training-free default
  (descriptor-vote shortlist + verification), the training-free global descriptor alone,
  and (when a trained student is found) embedding only / embedding + verification;
* baselines: perceptual hash (imagehash.phash) of the whole photo and of our rectified
  crop, and brute-force ORB + RANSAC against every catalogue card (on a subset: slow);
* per-stage latency p50/p95 on one thread and photos/second with every core;
* corner accuracy of the detector against the simulator's ground truth;
* unknown rejection: leave-one-out photos (their card excluded) at the calibrated
  threshold, real out-of-catalogue photos (../shared/data/photos/card-grader), card backs;
* usearch: numpy brute force vs exact / HNSW x f32 / f16 / i8 (recall@1, latency) up to
  20,000 x 768, and the 100,000 x 768 scale check.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench import machine, update_doc_section, write_report
from pokecard.bench.detect import corner_report
from pokecard.catalog import build_catalog, load_catalog, synth_catalog
from pokecard.catalog.build import load_processed
from pokecard.detect import detect
from pokecard.embed import create_embedder
from pokecard.errors import ConfigError
from pokecard.features import orb_features
from pokecard.imageio import load_rgb
from pokecard.model_files import find_student
from pokecard.photo import PhotoConfig, card_back, eval_seed, simulate_scene
from pokecard.recognize import DECODE_MIN_SIDE, Recognizer
from pokecard.reference.build import build_reference
from pokecard.reference.search import HNSW, make_usearch, search_settings

log = logging.getLogger(__name__)

SHARED = Path("../shared/data")
TEF = SHARED / "catalog" / "temporal-forces"
CARD_GRADER = SHARED / "photos" / "card-grader" / "images"
# The released student for the 218-card catalogue (GPU-trained, int8; models/.../README.md):
# the model rows' default when benchmarking that catalogue and no other student is given.
SHIPPED_STUDENT = Path("models/temporal-forces-student/student_stage2_final_int8.onnx")


def pick_student(model: str | None, real_catalogue: bool) -> tuple[str | None, str]:
    """(the student the embedding rows use, where it came from): ``--model``, then
    ``POKECARD_BENCH_MODEL``, then the newest student under ``POKECARD_ROOT`` (default
    work/root), then the released one when the catalogue is the one it was trained on."""
    if model:
        return model, "--model"
    if os.environ.get("POKECARD_BENCH_MODEL"):
        return os.environ["POKECARD_BENCH_MODEL"], "POKECARD_BENCH_MODEL"
    proj = Path(os.environ.get("POKECARD_ROOT", "work/root"))
    if proj.is_dir() and (key := find_student(proj)):
        return str(proj / key), f"the newest student under {proj}"
    if real_catalogue and SHIPPED_STUDENT.is_file():
        return str(SHIPPED_STUDENT), "the released 218-card student (models/temporal-forces-student)"
    return None, "none"


# -- helpers ----------------------------------------------------------------------------
def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if xs else float("nan")


def _lat(xs: list[float]) -> dict[str, float]:
    return {"p50": round(_pct(xs, 50), 2), "p95": round(_pct(xs, 95), 2)}


def _contention() -> str:
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"load average {load:.1f} on {os.cpu_count()} cores" + (
        " (contended: other jobs were running)" if load > 1.2 else ""
    )


def _photos(catalog: Any, idx: list[int], per_card: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    out = []
    for i in idx:
        img = catalog.load_image(catalog.cards[i])
        for k in range(per_card):
            photo, corners = simulate_scene(img, eval_seed(i, k), PhotoConfig.eval())
            out.append((i, photo, corners))
    return out


def _run_mode(
    rec: Any,
    photos: list[tuple[int, np.ndarray, np.ndarray]],
    row_of: dict[int, int],
    files: list[Path] | None = None,
) -> dict[str, Any]:
    """top-1 (the best-ranked card, thresholds aside) and per-stage latency of one mode.

    ``files``: the same photos as JPEG files, run the way a user runs them
    (``recognize_file``): ``total`` is then end to end, decode included. Without them the
    arrays are scored directly (decode 0)."""
    ok = right = wrong = 0  # top-1; accepted (status ok) right / wrong
    stages: dict[str, list[float]] = {
        k: [] for k in ("decode", "detect", "embed", "search", "verify", "total")
    }
    for j, (i, photo, _) in enumerate(photos):
        truth = rec.db.card_ids[row_of[i]]
        if files is not None:
            r = rec.recognize_file(files[j])
            for k in stages:
                stages[k].append(float(r["timings_ms"].get(k, 0.0)))
            ok += bool(r["top_k"]) and r["top_k"][0]["card_id"] == truth
            if r["status"] == "ok":
                right += r["card"]["card_id"] == truth
                wrong += r["card"]["card_id"] != truth
            continue
        t0 = time.perf_counter()
        sc = rec.score(photo)
        total = (time.perf_counter() - t0) * 1000
        for k in ("detect", "embed", "search", "verify"):
            stages[k].append(sc.timings.get(k, 0.0))
        stages["decode"].append(0.0)
        stages["total"].append(total)
        ok += bool(sc.ranked) and sc.ranked[0][0] == row_of[i]
        if rec.accepts(sc):
            right += sc.ranked[0][0] == row_of[i]
            wrong += sc.ranked[0][0] != row_of[i]
    return {
        "top1": round(ok / len(photos), 4),
        "accepted_right": int(right),
        "accepted_wrong": int(wrong),
        "photos": len(photos),
        "ms": {k: _lat(v) for k, v in stages.items()},
    }


def _jpegs(photos: list[tuple[int, np.ndarray, np.ndarray]], out: Path, quality: int = 90) -> list[Path]:
    """The photos as JPEG files (what a camera or phone gives the recognizer)."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    files = []
    for j, (_, photo, _) in enumerate(photos):
        f = out / f"{j:03d}.jpg"
        cv2.imwrite(str(f), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        files.append(f)
    return files


def _phash_baseline(
    catalog: Any, photos: list[tuple[int, np.ndarray, np.ndarray]], crops: bool
) -> dict[str, Any]:
    import imagehash
    from PIL import Image

    ref = np.array(
        [imagehash.phash(Image.fromarray(catalog.load_image(c))).hash.reshape(-1) for c in catalog.cards]
    )
    ok, ts = 0, []
    for i, photo, _ in photos:
        t0 = time.perf_counter()
        img = detect(photo).crop if crops else photo
        h = imagehash.phash(Image.fromarray(img)).hash.reshape(-1)
        best = int(np.argmin(np.sum(ref != h, axis=1)))
        ts.append((time.perf_counter() - t0) * 1000)
        ok += best == i
    return {"top1": round(ok / len(photos), 4), "photos": len(photos), "ms": _lat(ts)}


def _orb_bruteforce(
    catalog: Any, photos: list[tuple[int, np.ndarray, np.ndarray]], nfeat: int = 1000
) -> dict[str, Any]:
    """Popular open-source scanners: ORB of the photo vs ORB of every card, RANSAC inliers, best wins."""
    import cv2

    refs = []
    for c in catalog.cards:
        img = catalog.load_image(c)
        refs.append(orb_features(img, nfeat))
    bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    ok, ts = 0, []
    for i, photo, _ in photos:
        t0 = time.perf_counter()
        qxy, qd = orb_features(photo, nfeat)
        best, best_n = -1, -1
        for j, (rxy, rd) in enumerate(refs):
            good = [
                m[0] for m in bf.knnMatch(qd, rd, k=2) if len(m) == 2 and m[0].distance < 0.75 * m[1].distance
            ]
            n = 0
            if len(good) >= 8:
                src = rxy[[m.trainIdx for m in good]].reshape(-1, 1, 2)
                dst = qxy[[m.queryIdx for m in good]].reshape(-1, 1, 2)
                H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
                n = int(mask.sum()) if H is not None else 0
            if n > best_n:
                best, best_n = j, n
        ts.append((time.perf_counter() - t0) * 1000)
        ok += best == i
    return {"top1": round(ok / len(photos), 4), "photos": len(photos), "ms": _lat(ts), "features": nfeat}


def _corners(photos: list[tuple[int, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Corner accuracy and detect latency (one thread): :func:`pokecard.bench.detect.corner_report`."""
    return corner_report((photo, truth) for _, photo, truth in photos)


def _unknown(
    rec: Any, photos: list[tuple[int, np.ndarray, np.ndarray]], row_of: dict[int, int]
) -> dict[str, Any]:
    thr = rec.threshold(rec.policy.verify)
    loo_acc, in_ok = 0, 0
    for i, photo, _ in photos:
        row = row_of[i]
        # the decision the recognizer makes (cosine when the embedding decided, inliers when verified)
        loo_acc += rec.accepts(rec.score(photo, exclude={row}))
        full = rec.score(photo)
        in_ok += rec.accepts(full) and full.ranked[0][0] == row
    backs = [simulate_scene(card_back(), 900 + k, PhotoConfig.eval())[0] for k in range(10)]
    back_named = sum(rec.recognize_array(b)["status"] == "ok" for b in backs)
    real = {"photos": 0, "accepted": 0}
    if CARD_GRADER.is_dir():
        files = sorted(CARD_GRADER.glob("*.jpg"))
        for f in files:
            r = rec.recognize_array(load_rgb(f), name=f.name)
            real["photos"] += 1
            real["accepted"] += r["status"] == "ok"
    return {
        "threshold": thr,
        "leave_one_out_photos": len(photos),
        "ooc_accepted": round(loo_acc / len(photos), 4),
        "in_catalogue_correct_and_accepted": round(in_ok / len(photos), 4),
        "card_backs_named": f"{back_named}/{len(backs)}",
        "real_ooc_card_grader": real,
    }


def _throughput(root: Path, files: list[Path], workers: int) -> float:
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
    return {"one": round(_pct(one, 50), 2), "both": round(_pct(two, 50), 2)}


def _vectors(n: int, d: int, rng: np.random.Generator, dup_share: float = 0.2) -> np.ndarray:
    """Unit vectors shaped like card embeddings, not uniform noise.

    Clustered (cards of one set or template look alike: cosine about 0.65 within a cluster)
    and with near-duplicate groups (alternate arts and reprints: ``dup_share`` of the rows
    sit in groups of 2-4 at cosine 0.9-0.99 to the first of the group), so the gap between the
    best and the second-best card is often small, which is what makes approximate and
    quantized search miss.
    """
    centers = rng.normal(size=(max(n // 25, 1), d)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.7 * rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    i = 0
    n_dup = int(dup_share * n)
    while i < n_dup - 1:
        g = int(min(rng.integers(2, 5), n_dup - i))
        c = rng.uniform(0.9, 0.99)
        for j in range(i + 1, i + g):
            x[j] = _at_cosine(x[i], c, rng)
        i += g
    return x


def _at_cosine(v: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at cosine ``c`` to the unit vector ``v`` (random direction otherwise)."""
    u = rng.normal(size=v.shape).astype(np.float32)
    u -= float(u @ v) * v
    u /= np.linalg.norm(u)
    return (c * v + np.sqrt(1.0 - c * c) * u).astype(np.float32)


def _queries(
    x: np.ndarray, n: int, rng: np.random.Generator, cos: tuple[float, float] = (0.7, 0.9)
) -> np.ndarray:
    """Photo-like queries: catalogue vectors moved to a cosine of ``cos`` (uniform) from their source.

    Real photo embeddings sit at cosine 0.7-0.9 to their card's reference embedding, not at
    0.99: that puts many cards at a similar distance and tests the search honestly."""
    src = rng.choice(len(x), n, replace=n > len(x))
    return np.stack([_at_cosine(x[i], float(rng.uniform(*cos)), rng) for i in src])


def _truth(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Exact top-1 (numpy brute force, f32) and its per-query latency (one query at a time)."""
    truth = np.empty(len(q), np.int64)
    ts = []
    for j in range(len(q)):
        t0 = time.perf_counter()
        truth[j] = int(np.argmax(x @ q[j]))
        ts.append((time.perf_counter() - t0) * 1000)
    return truth, ts


def _search_rows(idx: Any, q: np.ndarray, truth: np.ndarray, exact: bool) -> tuple[float, list[float]]:
    ts, hits = [], 0
    for j in range(len(q)):
        t0 = time.perf_counter()
        m = idx.search(q[j], 1, exact=exact, threads=1)
        ts.append((time.perf_counter() - t0) * 1000)
        hits += int(m.keys[0]) == truth[j]
    return hits / len(q), ts


def usearch_compare(
    sizes: list[int],
    d: int = 768,
    queries: int = 200,
    seed: int = 0,
    dtypes: tuple[str, ...] = ("f32", "f16", "i8"),
    connectivity: tuple[int, ...] = (16,),
    expansion_search: tuple[int, ...] = (16, 32, 64, 128, 256),
    exact_dtypes: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """numpy brute force vs usearch exact and HNSW: recall@1 and per-query latency on one thread.

    For each size, dtype and ``connectivity`` one HNSW index is built and searched at every
    ``expansion_search``; exact search once per dtype (``exact_dtypes``, default ``dtypes``).
    Vectors: :func:`_vectors`; queries: :func:`_queries` (cosine 0.7-0.9 to their card).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        x = _vectors(n, d, rng)
        q = _queries(x, queries, rng)
        truth, t_np = _truth(x, q)
        base = {"n": n, "queries": queries}
        rows.append(
            {
                **base,
                "engine": "numpy brute force",
                "dtype": "f32",
                "recall@1": 1.0,
                "ms_p50": round(_pct(t_np, 50), 3),
            }
        )
        exact_dt = list(exact_dtypes if exact_dtypes is not None else dtypes)
        # exact search needs no graph, but usearch builds one on add: reuse the first HNSW build
        builds = [(dt, m) for dt in dtypes for m in connectivity]
        builds += [(dt, None) for dt in exact_dt if dt not in dtypes]
        for dtype, m in builds:
            t0 = time.perf_counter()
            idx = make_usearch(
                x,
                dtype=dtype,
                hnsw={"connectivity": m or HNSW["connectivity"], "expansion_add": HNSW["expansion_add"]},
            )
            build_s = time.perf_counter() - t0
            if dtype in exact_dt:
                exact_dt.remove(dtype)
                rec, ts = _search_rows(idx, q, truth, exact=True)
                rows.append(
                    {
                        **base,
                        "engine": "usearch exact",
                        "dtype": dtype,
                        "recall@1": round(rec, 4),
                        "ms_p50": round(_pct(ts, 50), 3),
                        "ms_p95": round(_pct(ts, 95), 3),
                    }
                )
            if m is None:
                continue
            for ef in expansion_search:
                idx.expansion_search = ef
                rec, ts = _search_rows(idx, q, truth, exact=False)
                rows.append(
                    {
                        **base,
                        "engine": f"usearch HNSW (M={m}, ef={ef})",
                        "connectivity": m,
                        "expansion_search": ef,
                        "dtype": dtype,
                        "recall@1": round(rec, 4),
                        "ms_p50": round(_pct(ts, 50), 3),
                        "ms_p95": round(_pct(ts, 95), 3),
                        "build_s": round(build_s, 1),
                    }
                )
    return rows


def scale_check(
    n: int = 100_000,
    d: int = 768,
    queries: int = 200,
    seed: int = 1,
    expansion_search: tuple[int, ...] = (32, 64, 128, 256),
) -> dict[str, Any]:
    """The default search (:func:`pokecard.reference.search.search_settings` for ``n`` cards) on ``n`` x ``d``
    synthetic vectors: per-query latency on one thread and recall@1 against numpy brute force;
    when the default is HNSW, also the same index at each ``expansion_search`` (``sweep``)."""
    rng = np.random.default_rng(seed)
    x = _vectors(n, d, rng)
    q = _queries(x, queries, rng)
    truth, _ = _truth(x, q)
    s = search_settings(n)
    t0 = time.perf_counter()
    idx = make_usearch(x, dtype=s["dtype"], hnsw=s)
    build = time.perf_counter() - t0
    rec, ts = _search_rows(idx, q, truth, exact=s["exact"])
    engine = (
        "usearch exact" if s["exact"] else f"usearch HNSW (M={s['connectivity']}, ef={s['expansion_search']})"
    )
    sweep = []
    for ef in () if s["exact"] else expansion_search:
        idx.expansion_search = ef
        r, t = _search_rows(idx, q, truth, exact=False)
        sweep.append({"expansion_search": ef, "recall@1": round(r, 4), "ms_p50": round(_pct(t, 50), 3)})
    return {
        "n": n,
        "dim": d,
        "dtype": s["dtype"],
        "engine": engine,
        "build_s": round(build, 1),
        "ms_p50": round(_pct(ts, 50), 3),
        "ms_p95": round(_pct(ts, 95), 3),
        "recall@1": round(rec, 4),
        "sweep": sweep,
    }


# -- main -------------------------------------------------------------------------------
def run(quick: bool = False, model: str | None = None) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(1)
    t_start = time.perf_counter()
    res: dict[str, Any] = {"quick": quick, "conditions": _contention()}
    work = Path(tempfile.mkdtemp(prefix="pokecard-bench-rec-"))
    if TEF.is_dir():
        source = load_catalog(TEF)
    else:
        log.warning("%s not found: benchmarking a synthetic catalogue instead", TEF)
        source = synth_catalog(218, work / "synth", seed=0)
    root = work / "root"
    build_catalog(source, root)
    cat = load_processed(root)
    res["catalog"] = {"name": cat.name, "cards": len(cat.cards)}

    def build(r: Path, model: str | None, mode: str) -> dict[str, Any]:
        """Every reference DB of the run, calibrated the same way (card-grader when present)."""
        return build_reference(
            r,
            model,
            mode=mode,
            progress=False,
            calibration_photos=120 if quick else 150,
            calibrate_with=CARD_GRADER if CARD_GRADER.is_dir() else None,
        )

    t0 = time.perf_counter()
    man = build(root, None, "training-free")
    res["index_build_s"] = round(time.perf_counter() - t0, 1)
    res["calibration"] = man["calibration"]
    row_of = {i: i for i in range(len(cat.cards))}

    rng = np.random.default_rng(0)
    n_cards = 100 if quick else len(cat.cards)
    idx = sorted(rng.choice(len(cat.cards), n_cards, replace=False).tolist())
    photos = _photos(cat, idx, 1 if quick else 2)
    res["eval_photos"] = len(photos)
    files = _jpegs(photos, work / "photos")  # every mode runs on the JPEG files: decode included
    res["photo_size"] = f"{photos[0][1].shape[1]} x {photos[0][1].shape[0]}"

    modes: dict[str, Any] = {}
    rec = Recognizer(root, threads=1)
    modes["training-free: descriptor-vote shortlist + verification (default without a model)"] = _run_mode(
        rec, photos, row_of, files
    )
    rec_g = Recognizer(root, threads=1, verify=False)
    modes["training-free: global layout descriptor only"] = _run_mode(rec_g, photos, row_of, files)
    student, res["model_source"] = pick_student(model, TEF.is_dir())
    model_root: Path | None = None  # the embedding DB, once its modes ran
    if student:
        try:
            import shutil

            eroot = work / "root-emb"
            shutil.copytree(root, eroot)
            src = student
            res["model_calibration"] = build(eroot, src, "embedding")["calibration"]
            for name, kw in (
                ("embedding only", {"verify": False}),
                ("embedding shortlist + verification", {"shortlist": "embedding", "embed_first": False}),
                (
                    "embedding + descriptor-vote shortlist + verification, always verified (--always-verify)",
                    {"embed_first": False},
                ),
                (
                    "embedding first, then embedding + descriptor-vote shortlist + verification "
                    "when not decisive (default with a model)",
                    {},
                ),
            ):
                mrec = Recognizer(eroot, threads=1, **kw)
                modes[name] = _run_mode(mrec, photos, row_of, files)
                if not kw or kw == {"verify": False}:  # the default with a model, and no verification
                    res.setdefault("unknown_model", {})[name] = _unknown(
                        mrec, photos[: 60 if quick else 150], row_of
                    )
            res["model"] = str(src)
            model_root = eroot
            res["orientation_cost_ms"] = orientation_cost(src, cat.load_image(cat.cards[0]))
        except Exception as e:  # report, do not lose the rest of the run
            log.warning("embedding modes skipped: %s", e)
            res["model"] = f"failed: {e}"
    else:
        res["model"] = None
    res["modes"] = modes
    res["baselines"] = {
        "phash (whole photo)": _phash_baseline(cat, photos, crops=False),
        "phash (rectified crop)": _phash_baseline(cat, photos, crops=True),
    }
    sub = photos[:: max(1, len(photos) // (10 if quick else 30))]
    res["baselines"]["brute-force ORB + RANSAC vs every card (subset)"] = _orb_bruteforce(cat, sub)
    res["corners"] = _corners(photos)
    res["unknown"] = _unknown(rec, photos[: 60 if quick else 150], row_of)

    # sampled before the all-core throughput step below, which loads every core itself
    res["conditions_end"] = _contention()
    # photos/second with every core (decode included: the photos are JPEG files)
    files = files[:80]
    dec = []
    for f in files:
        t0 = time.perf_counter()
        load_rgb(f, min_side=DECODE_MIN_SIDE)
        dec.append((time.perf_counter() - t0) * 1000)
    res["decode_ms"] = _lat(dec)
    res["photos_per_s_all_cores"] = round(_throughput(root, files, os.cpu_count() or 1), 2)
    res["photos_per_s_one_core"] = round(_throughput(root, files, 1), 2)
    if model_root is not None:  # the default with a model (embedding first)
        res["model_photos_per_s_all_cores"] = round(_throughput(model_root, files, os.cpu_count() or 1), 2)
        res["model_photos_per_s_one_core"] = round(_throughput(model_root, files, 1), 2)

    if quick:
        res["usearch"] = usearch_compare([17_592], dtypes=("f16", "i8"), exact_dtypes=("f32", "f16", "i8"))
    else:
        res["usearch"] = usearch_compare([2_000, 17_592], queries=500, connectivity=(8, 16, 32))
    res["scale_100k"] = scale_check(100_000, queries=200 if quick else 500)
    res["wall_s"] = round(time.perf_counter() - t_start, 1)
    return res


def markdown(res: dict[str, Any], command: str) -> str:
    L = [
        "## Recognizer",
        "",
        f"Command: `{command}` on {machine()}; {res['conditions']} at the start, {res.get('conditions_end')} after the one-thread measurements. "
        "Timings are on one thread and inflated by the CPU contention when it says so.",
        "",
        f"Catalogue: {res['catalog']['name']} ({res['catalog']['cards']} cards); {res['eval_photos']} held-out simulated photos "
        "(pokecard.photo eval preset, eval seeds). Model: "
        + (
            f"{res['model']} ({res.get('model_source', '?')})"
            if res["model"]
            else "none found (no trained student): embedding modes not measured"
        ),
        "",
        f"Every mode runs on the photos saved as JPEG files (quality 90, {res.get('photo_size', '?')} px), as a user runs them "
        "(`recognize_file`): ms/photo is end to end, JPEG decode included, on one thread.",
        "",
        "| mode | top-1 | accepted (status ok) right / wrong | ms/photo p50 | p95 |",
        "|---|---|---|---|---|",
    ]
    for name, m in res["modes"].items():
        acc = f"{m['accepted_right']} / {m['accepted_wrong']}" if "accepted_right" in m else ""
        L.append(
            f"| {name} | {m['top1']:.1%} | {acc} | {m['ms']['total']['p50']:.0f} | {m['ms']['total']['p95']:.0f} |"
        )
    for name, m in res["baselines"].items():
        L.append(
            f"| baseline: {name} ({m['photos']} photos) | {m['top1']:.1%} | | {m['ms']['p50']:.0f} | {m['ms']['p95']:.0f} |"
        )
    L += [
        "",
        "Per stage, every mode, one thread (ms, p50 / p95; decode alone, measured apart: "
        f"{res['decode_ms']['p50']} / {res['decode_ms']['p95']}):",
        "",
        "| mode | decode | detect | embed (+ORB) | search (+votes) | verify | total (end to end) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in res["modes"].items():
        ms = m["ms"]
        L.append(
            f"| {name} | "
            + " | ".join(
                f"{ms[k]['p50']} / {ms[k]['p95']}" if k in ms else "-"
                for k in ("decode", "detect", "embed", "search", "verify", "total")
            )
            + " |"
        )
    if res.get("orientation_cost_ms"):
        o = res["orientation_cost_ms"]
        L += [
            "",
            f"Orientation (the 180-degree ambiguity after the warp): embedding one crop {o['one']} ms, "
            f'both orientations {o["both"]} ms (p50, one thread); the modes above embed the turned crop only when the first orientation is not decisive (`orientations="sequential"`).',
        ]
    L += [
        "",
        "Throughput (decode included, after start-up: every worker process loads the DB and "
        f"recognizes one photo before the clock starts): default without a model {res['photos_per_s_all_cores']} "
        f"photos/s with all cores, {res['photos_per_s_one_core']} with one"
        + (
            f"; default with a model {res['model_photos_per_s_all_cores']} with all cores, "
            f"{res['model_photos_per_s_one_core']} with one."
            if "model_photos_per_s_all_cores" in res
            else "."
        ),
    ]
    c = res["corners"]
    L += [
        "",
        f"Corners: quad found in {c['found']:.1%} of photos; mean corner error < 2% of card height in {c['share_under_2pct']:.1%} (< 5%: {c['share_under_5pct']:.1%}; median {c['median_error_pct']}%); detect alone {c['detect_ms']['p50']} ms p50 / {c['detect_ms']['p95']} ms p95 on one thread.",
    ]
    u = res["unknown"]
    cal = res["calibration"].get("min_inliers", {})
    L += [
        "",
        f"Unknown (threshold {u['threshold']:g} distinctive inliers, calibrated at build time: {cal.get('ooc_accepted', 0):.1%} of {cal.get('ooc_photos')} calibration out-of-catalogue photos accepted, in-catalogue drop {cal.get('accuracy_drop_points')} points): "
        f"on {u['leave_one_out_photos']} fresh leave-one-out photos {u['ooc_accepted']:.1%} accepted, in-catalogue correct and accepted {u['in_catalogue_correct_and_accepted']:.1%}; "
        f"card backs named: {u['card_backs_named']}; real out-of-catalogue photos (card-grader) accepted: {u['real_ooc_card_grader']['accepted']}/{u['real_ooc_card_grader']['photos']}.",
    ]
    mcal = res.get("model_calibration") or {}
    thr = mcal.get("thresholds", {})
    for name, u in (res.get("unknown_model") or {}).items():
        L.append("")
        L.append(
            f"Unknown with the model, {name} (the embedding DB's thresholds, calibrated at build time: "
            f"{thr.get('min_inliers', '?'):g} distinctive inliers, cosine {thr.get('min_score', float('nan')):.3f}): "
            f"on {u['leave_one_out_photos']} fresh leave-one-out photos {u['ooc_accepted']:.1%} accepted, "
            f"in-catalogue correct and accepted {u['in_catalogue_correct_and_accepted']:.1%}; "
            f"card backs named: {u['card_backs_named']}; card-grader accepted: "
            f"{u['real_ooc_card_grader']['accepted']}/{u['real_ooc_card_grader']['photos']}."
        )
    L += [
        "",
        "usearch (one thread; 768-d clustered unit vectors with near-duplicate groups; queries = catalogue "
        "vectors moved to cosine 0.7-0.9; recall@1 against numpy brute force):",
        "",
        "| n | engine | dtype | recall@1 | ms/query p50 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["usearch"]:
        L.append(
            f"| {r['n']:,} | {r['engine']} | {r['dtype']} | {r['recall@1']} | {r['ms_p50']} | {r.get('ms_p95', '')} |"
        )
    s = res["scale_100k"]
    L += [
        "",
        f"Scale check (the default search for this size): {s['n']:,} x {s['dim']} {s['dtype']} {s['engine']}: p50 {s['ms_p50']} ms, p95 {s['ms_p95']} ms per query on one thread, recall@1 {s['recall@1']} (build {s['build_s']} s)"
        + (
            "; the same index at other expansion_search: "
            + ", ".join(f"ef={r['expansion_search']} {r['recall@1']} / {r['ms_p50']} ms" for r in s["sweep"])
            if s.get("sweep")
            else ""
        )
        + ".",
        "",
    ]
    return "\n".join(L)


def main(quick: bool = False, model: str | None = None) -> dict[str, Any]:
    if model is not None and not Path(model).is_file():
        raise ConfigError(f"--model {model}: no such file (an ONNX student with model_card.json beside it)")
    res = run(quick=quick, model=model)
    cmd = "pokecard bench recognizer" + (" --quick" if quick else "") + (f" --model {model}" if model else "")
    write_report("recognizer", res)
    update_doc_section("recognizer", markdown(res, cmd))
    return res
