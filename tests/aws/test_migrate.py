"""`pokecard migrate` on moto: dry run, apply, bad plans, and SIGKILL midway then rerun."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration
PREFIX = "project/pokemon-card-recognition/"


def _s3():  # noqa: ANN202
    import boto3

    return boto3.client("s3")


def _seed(bucket: str, n: int) -> dict[str, str]:
    """n scattered objects at the bucket root (data/raw/... and reference/); key -> sha256."""
    s3, shas = _s3(), {}
    for i in range(n):
        key = f"data/raw/card_images/sv{i % 3}/{i:04d}.jpg" if i % 5 else f"reference/part{i:04d}.bin"
        body = hashlib.sha256(str(i).encode()).digest() * (4 + i % 7)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        shas[key] = hashlib.sha256(body).hexdigest()
    return shas


def _plan(tmp_path: Path, bucket: str, extra: str = "", workers: int = 4) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text(
        f"name: t\nsource_bucket: {bucket}\nworkers: {workers}\n{extra}mappings:\n"
        "  - source: data/raw/card_images/\n    destination: data/raw/card_images\n"
        "  - source: reference/\n    destination: data/reference\n"
    )
    return p


def _dest_key(src: str) -> str:
    return PREFIX + (src if src.startswith("data/") else "data/reference/" + src.split("/", 1)[1])


def test_dry_run_then_apply_then_delete(s3_bucket, tmp_path) -> None:  # noqa: ANN001
    shas = _seed(s3_bucket, 20)
    plan, root, state = _plan(tmp_path, s3_bucket), f"s3://{s3_bucket}/{PREFIX}", str(tmp_path / "state")
    code, out, err = run_cli("migrate", str(plan), "--root", root, "--state-dir", state, "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert len(doc["copy"]) == 20 and doc["copied"] == 0 and not doc["applied"]
    assert "Contents" not in _s3().list_objects_v2(Bucket=s3_bucket, Prefix=PREFIX)  # dry run wrote nothing
    code, out, err = run_cli("migrate", str(plan), "--root", root, "--state-dir", state, "--apply", "--json")
    assert code == 0, err and json.loads(out)["copied"] == 20
    # Rerun: everything verified already, nothing copied; then delete the sources.
    code, out, _ = run_cli(
        "migrate", str(plan), "--root", root, "--state-dir", state, "--apply", "--delete-source", "--json"
    )
    doc = json.loads(out)
    assert code == 0 and doc["copied"] == 0 and len(doc["skip"]) == 20 and doc["deleted"] == 20
    assert _s3().list_objects_v2(Bucket=s3_bucket, Prefix="data/").get("KeyCount") == 0
    for src, sha in shas.items():
        body = _s3().get_object(Bucket=s3_bucket, Key=_dest_key(src))["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha
    assert run_cli("verify", "--root", root, "--deep")[0] == 0  # in the manifest, checksums hold


@pytest.mark.parametrize(
    ("extra", "mapping", "message"),
    [
        ("colour: red\n", None, "unknown key(s) colour"),
        ("", "  - source: x/\n    destination: tmp/x\n", "outside the project layout"),
        ("", f"  - source: {PREFIX}data/\n    destination: data/raw\n", "overlap"),
        ("", "  - source: x/\n    destination: data/x\n    dest: y\n", "unknown key(s) dest"),
    ],
)
def test_malformed_plan_is_one_line(s3_bucket, tmp_path, extra, mapping, message) -> None:  # noqa: ANN001
    plan = _plan(tmp_path, s3_bucket, extra)
    if mapping:
        plan.write_text(plan.read_text() + mapping)
    code, out, err = run_cli("migrate", str(plan), "--root", f"s3://{s3_bucket}/{PREFIX}")
    assert code != 0 and out == "" and message in err and str(plan) in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_sigkill_midway_and_rerun_loses_nothing(s3_bucket, tmp_path) -> None:  # noqa: ANN001
    n = 150
    shas = _seed(s3_bucket, n)
    plan, root, state = (
        _plan(tmp_path, s3_bucket, workers=2),
        f"s3://{s3_bucket}/{PREFIX}",
        tmp_path / "state",
    )
    cmd = [
        sys.executable,
        "-m",
        "pokecard",
        "migrate",
        str(plan),
        "--root",
        root,
        "--state-dir",
        str(state),
        "--apply",
    ]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    journal = None
    while time.monotonic() < deadline:
        found = list(state.glob("*.jsonl")) if state.is_dir() else []
        if found and len(found[0].read_text().splitlines()) >= 20:
            journal = found[0]
            break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    assert journal is not None, "the migration never got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = len(journal.read_text().splitlines())
    assert done_at_kill < n, "killed too late to test a resume"
    code, out, err = run_cli(
        "migrate", str(plan), "--root", root, "--state-dir", str(state), "--apply", "--json"
    )
    doc = json.loads(out)
    assert code == 0, err
    assert len(doc["skip"]) >= done_at_kill and len(doc["skip"]) + doc["copied"] == n
    # Every object is there once, with its bytes, and recorded.
    listed = [
        o["Key"]
        for p in _s3().get_paginator("list_objects_v2").paginate(Bucket=s3_bucket, Prefix=PREFIX)
        for o in p.get("Contents", [])
    ]
    assert sorted(k for k in listed if not k.endswith("project_manifest.json")) == sorted(
        _dest_key(k) for k in shas
    )
    for src, sha in shas.items():
        assert (
            hashlib.sha256(_s3().get_object(Bucket=s3_bucket, Key=_dest_key(src))["Body"].read()).hexdigest()
            == sha
        )
    code, out, _ = run_cli("verify", "--root", root, "--json")
    assert code == 0 and json.loads(out)["checked"] == n
