"""`pokecard bench ops`: cloud data operations on a local moto server, side by side.

1. Migrate N small objects between two prefixes of one bucket: `pokecard migrate` (server-side
   copy, each copy read back and verified, journaled, recorded in the manifest) against
   `aws s3 sync` (awscli, copies only) at the same concurrency. objects/s and the ratio.
2. `pokecard verify` over M objects: fast (one listing) and --deep (re-hash every object).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pokecard.aws import emulator
from pokecard.aws.migrate import load_plan, migrate
from pokecard.aws.verify import verify
from pokecard.store import S3Store

BUCKET = "bench-ops"
PREFIX = "project/pokemon-card-recognition"


def _seed(s3: Any, prefix: str, n: int, workers: int) -> dict[str, tuple[str, int]]:
    def put(i: int) -> tuple[str, str, int]:
        body = hashlib.sha256(str(i).encode()).digest() * (8 + i % 24)
        key = f"{prefix}/set{i % 10}/{i:06d}.jpg"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return key, hashlib.sha256(body).hexdigest(), len(body)

    with ThreadPoolExecutor(workers) as pool:
        return {k: (sha, size) for k, sha, size in pool.map(put, range(n))}


def _awscli_sync(url: str, workers: int, src: str, dst: str) -> float:
    aws = shutil.which("aws")
    if aws is None:
        raise RuntimeError("awscli (`aws`) is not on PATH")
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "config"
        cfg.write_text(f"[default]\nregion = us-east-2\ns3 =\n  max_concurrent_requests = {workers}\n")
        env = {
            **os.environ,
            "AWS_CONFIG_FILE": str(cfg),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        env.pop("AWS_PROFILE", None)
        t = time.perf_counter()
        subprocess.run(
            [
                aws,
                "s3",
                "sync",
                f"s3://{BUCKET}/{src}/",
                f"s3://{BUCKET}/{dst}/",
                "--endpoint-url",
                url,
                "--only-show-errors",
            ],
            env=env,
            check=True,
        )
        return time.perf_counter() - t


def run(n_migrate: int = 5000, n_verify: int = 20000, workers: int = 16) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    emu = emulator.start()
    try:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        s3 = boto3.client(
            "s3",
            endpoint_url=emu.url,
            region_name="us-east-2",
            config=Config(max_pool_connections=workers * 2),
        )
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
        _seed(s3, "legacy/cards", n_migrate, workers)
        store = S3Store(BUCKET, PREFIX, region="us-east-2", endpoint_url=emu.url)
        store.client = boto3.client(
            "s3",
            endpoint_url=emu.url,
            region_name="us-east-2",
            config=Config(max_pool_connections=workers * 2),
        )
        with tempfile.TemporaryDirectory() as d:
            plan_path = Path(d) / "plan.yaml"
            plan_path.write_text(
                f"name: bench\nsource_bucket: {BUCKET}\nworkers: {workers}\nmappings:\n"
                "  - source: legacy/cards/\n    destination: data/raw/card_images\n"
            )
            plan = load_plan(plan_path, BUCKET, store.prefix)
            t = time.perf_counter()
            res = migrate(plan, store, apply=True, state_dir=Path(d) / "state")
            ours_s = time.perf_counter() - t
        assert res.copied == n_migrate, res
        aws_s = _awscli_sync(emu.url, workers, "legacy/cards", "awscli-copy")
        # verify over n_verify objects: seed the rest, record every object in the manifest
        extra = _seed(s3, f"{PREFIX}/data/processed/classification", max(n_verify - n_migrate, 0), workers)
        with store.batch():
            for k, (sha, size) in extra.items():
                store.record_copy(k[len(PREFIX) + 1 :], sha, size)
        store.reload_manifest()
        t = time.perf_counter()
        fast = verify(store)
        fast_s = time.perf_counter() - t
        t = time.perf_counter()
        deep = verify(store, deep=True, workers=workers)
        deep_s = time.perf_counter() - t
        assert fast.passed and deep.passed, (fast.problems[:3], deep.problems[:3])
        return {
            "workers": workers,
            "migrate": {
                "objects": n_migrate,
                "pokecard_s": round(ours_s, 2),
                "awscli_s": round(aws_s, 2),
                "pokecard_per_s": round(n_migrate / ours_s, 1),
                "awscli_per_s": round(n_migrate / aws_s, 1),
                "ratio": round(aws_s / ours_s, 2),
            },
            "verify": {
                "objects": fast.checked,
                "fast_s": round(fast_s, 2),
                "deep_s": round(deep_s, 2),
                "fast_per_s": round(fast.checked / fast_s, 1),
                "deep_per_s": round(deep.checked / deep_s, 1),
                "deep_over_fast": round(deep_s / fast_s, 1),
            },
            "awscli": _aws_version(),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]
            if Path("/proc/loadavg").is_file()
            else None,
        }
    finally:
        emu.stop()


def _aws_version() -> str:
    p = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    return (p.stdout or p.stderr).strip()


def markdown(r: dict[str, Any], machine: str, load_before: str) -> str:
    m, v = r["migrate"], r["verify"]
    return f"""`pokecard bench ops` on {machine}, one moto server on 127.0.0.1 (every request is HTTP to one
Python process, so absolute rates are the emulator's, not S3's; the ratio is the point). {r["awscli"]}.
Load average before the run: {load_before} (shared machine).

| job | objects | workers | pokecard s | pokecard obj/s | awscli s | awscli obj/s | awscli time / pokecard time |
|---|---:|---:|---:|---:|---:|---:|---:|
| migrate (ours: copy + read back + verify + journal + manifest; awscli: `aws s3 sync`, copy only) | {m["objects"]:,} | {r["workers"]} | {m["pokecard_s"]} | {m["pokecard_per_s"]} | {m["awscli_s"]} | {m["awscli_per_s"]} | {m["ratio"]} |

| verify | objects | seconds | objects/s |
|---|---:|---:|---:|
| fast (one listing: sizes, times) | {v["objects"]:,} | {v["fast_s"]} | {v["fast_per_s"]} |
| --deep (sha256 of every object, {r["workers"]} downloads at a time) | {v["objects"]:,} | {v["deep_s"]} | {v["deep_per_s"]} |

--deep takes {v["deep_over_fast"]}x the fast check."""
