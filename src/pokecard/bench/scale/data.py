"""The catalogues and reference DBs of `bench scale`, cached under the work folder, and what building and loading them costs.

Layout of the work folder (a rerun reuses each part; ``fresh`` redoes it)::

    catalogs/synth-<cards>-seed<seed>/     generated catalogue (images/ + metadata.json)
    roots/<catalogue>/<mode>/              project root: catalog build + index build
    roots/<catalogue>/<mode>/bench_build.json  what that build measured (reused with the root)
    photos/<catalogue>-<n>-seed<seed>/     the held-out photos as JPEG files

The index build runs as a subprocess (``python -m pokecard index build ... --json``) so
that its peak memory is its own: ``os.wait4`` returns the child's resource usage, and
``ru_maxrss`` is the peak resident set of that process (and of any child it waited for).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import atomic, layout
from pokecard.catalog import build_catalog, load_catalog, synth_catalog
from pokecard.catalog.synth import shared_keys
from pokecard.errors import ConfigError, PokecardError
from pokecard.features import FeatureConfig
from pokecard.reference.previous import PARTS

log = logging.getLogger(__name__)

MODES = ("training-free", "embedding")
BUILD_FILE = "bench_build.json"


@dataclass(frozen=True)
class Source:
    """One catalogue of the run: its name (the cache key), folder and card count."""

    key: str
    path: Path
    cards: int
    real: bool

    def near_duplicates(self) -> dict[str, Any]:
        """The generator's near-duplicate rates (``generator.near_duplicates`` in metadata.json);
        for a real catalogue, the share of cards whose name another card also has."""
        meta = json.loads((self.path / "metadata.json").read_text())
        gen = meta.get("generator") or {}
        if gen.get("near_duplicates"):
            return dict(gen["near_duplicates"])
        return {"shared_name": shared_keys([c["name"] for c in meta.get("cards", [])])}


def real_source(folder: Path) -> Source | None:
    if not (folder / "metadata.json").is_file():
        return None
    return Source(folder.name, folder, len(load_catalog(folder).cards), True)


def synth_source(work: Path, cards: int, seed: int, fresh: bool, workers: int) -> Source:
    """The generated catalogue of ``cards`` cards (seed ``seed``), drawn once and then reused:
    a folder with a metadata.json is complete (synth writes it last)."""
    key = f"synth-{cards}-seed{seed}"
    path = work / "catalogs" / key
    if fresh and path.exists():
        shutil.rmtree(path)
    meta = path / "metadata.json"
    if meta.is_file() and json.loads(meta.read_text()).get("generator", {}).get("cards") == cards:
        log.info("%s: reusing the generated catalogue", path)
    else:
        if path.exists():
            shutil.rmtree(path)
        log.info("generating %d cards into %s", cards, path)
        synth_catalog(cards, path, seed=seed, workers=workers)
    return Source(key, path, cards, False)


def model_identity(model: str | None) -> str | None:
    """What makes an embedding DB reusable: the model file's name, size and sha256 prefix."""
    if model is None:
        return None
    p = Path(model)
    h = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    return f"{p.name}:{p.stat().st_size}:{h}"


def build_root(
    work: Path,
    src: Source,
    mode: str,
    *,
    model: str | None,
    calibrate_with: Path | None,
    fresh: bool,
    calibrate: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """The project root of ``src`` in ``mode`` and what building it measured (cached)."""
    root = work / "roots" / src.key / mode
    want = {
        "catalogue": src.key,
        "cards": src.cards,
        "mode": mode,
        "model": model_identity(model) if mode == "embedding" else None,
        "calibrate_with": str(calibrate_with) if calibrate_with else None,
        "calibrated": calibrate,
    }
    record = root / BUILD_FILE
    if not fresh and record.is_file() and (root / layout.REFERENCE_MANIFEST).is_file():
        got = json.loads(record.read_text())
        if all(got.get(k) == v for k, v in want.items()) and _current(root):
            log.info("%s: reusing the reference DB built %s", root, got.get("built"))
            return root, got | {"reused": True}
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    build_catalog(src.path, root)
    catalog_s = time.perf_counter() - t0
    cmd = [sys.executable, "-m", "pokecard", "index", "build", "--root", str(root), "--mode", mode, "--json"]
    if mode == "embedding":
        if model is None:
            raise ConfigError("the embedding mode needs a model (--model)")
        cmd += ["--model", str(Path(model).resolve())]
    if not calibrate:
        cmd.append("--no-calibrate")
    elif calibrate_with is not None:
        cmd += ["--calibrate-with", str(calibrate_with)]
    out = run_measured(cmd, root / "index_build.json")
    man = json.loads((root / layout.REFERENCE_MANIFEST).read_text())
    b = man.get("build") or {}
    rec = want | {
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        "catalog_build_s": round(catalog_s, 2),
        "index_build_wall_s": out["wall_s"],
        "total_s": b.get("total_seconds"),
        "stages_s": b.get("seconds") or {},
        "peak_rss_mb": out["peak_rss_mb"],
        "peak_rss_method": "os.wait4 ru_maxrss of the `index build` subprocess",
        "peak_rss_mb_manifest": b.get("peak_rss_mb"),
        "keypoints": man.get("keypoints"),
        "thresholds": man.get("thresholds"),
        "calibration_method": (man.get("calibration") or {}).get("method"),
        "db_mb": db_megabytes(root),
    }
    atomic.write_json(record, rec)
    return root, rec | {"reused": False}


def run_measured(cmd: list[str], stdout_file: Path) -> dict[str, float]:
    """Run ``cmd`` to completion; its wall time and peak RSS (MB) from ``os.wait4``."""
    t0 = time.perf_counter()
    with open(stdout_file, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out)
        try:
            _, status, usage = os.wait4(p.pid, 0)
        except BaseException:
            p.kill()
            p.wait()
            raise
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise PokecardError(f"{' '.join(cmd[2:])}: exit code {p.returncode} (its error is above)")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def db_megabytes(root: Path) -> float:
    ref = root / layout.REFERENCE
    return round(sum(f.stat().st_size for f in ref.rglob("*") if f.is_file()) / 1e6, 2)


_LOAD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pokecard.recognize import Recognizer
t1 = time.perf_counter()
rec = Recognizer(sys.argv[1], threads=1)
t2 = time.perf_counter()
rss = None
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
except OSError:
    pass
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t0, "rss_mb": rss if rss is not None else peak, "peak_rss_mb": peak}))
"""


def load_cost(root: Path) -> dict[str, float]:
    """Seconds to import the recognizer and load a Recognizer of ``root`` in a fresh process
    (interpreter start-up excluded), and its resident memory right after (VmRSS)."""
    out = subprocess.run(
        [sys.executable, "-c", _LOAD, str(root)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise PokecardError(f"loading a Recognizer of {root} failed: {out.stderr.strip()[-500:]}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: round(float(v), 3 if k.endswith("_s") else 1) for k, v in d.items()}


def _current(root: Path) -> bool:
    """Whether the DB under ``root`` is what this code builds: every part its build writes (an
    older build's DB, e.g. without name bars, would be measured without what it lacks) and
    this code's feature settings (a DB keeps the settings it was calibrated with)."""
    try:
        with np.load(root / layout.REFERENCE_KEYPOINTS, allow_pickle=False) as z:
            have = set(z.files)
        man = json.loads((root / layout.REFERENCE_MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    missing = [p for p in PARTS if p not in have]
    if missing:
        log.info("%s: built without %s, building it again", root, ", ".join(missing))
        return False
    ours = json.loads(json.dumps(FeatureConfig().as_dict()))
    theirs = json.loads(json.dumps(FeatureConfig.from_dict(man.get("features") or {}).as_dict()))
    changed = sorted(k for k in ours if ours[k] != theirs.get(k))
    if changed:
        log.info("%s: built with other feature settings (%s), building it again", root, ", ".join(changed))
    return not changed
