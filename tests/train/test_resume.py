"""Kill a training run mid-way, rerun it: it resumes from the last epoch checkpoint."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from pokecard import layout  # noqa: E402

from .conftest import write_preset  # noqa: E402


def test_kill_and_rerun_resumes_from_the_last_checkpoint(synth_cat: Path, tmp_path: Path) -> None:
    from pokecard.catalog import build_catalog
    from pokecard.models import load_checkpoint_bytes
    from pokecard.store import open_store
    from pokecard.train.pipeline import train

    root = tmp_path / "root"
    build_catalog(synth_cat, open_store(root))
    # A small fast teacher, many short epochs: the process is killed long before the end.
    preset = write_preset(
        tmp_path / "slow.json",
        teacher={
            "model": "mobilenetv3_small_050",
            "embedding_dim": 32,
            "epochs": 40,
            "steps_per_epoch": 1,
            "batch_size": 4,
            "input_size": [48, 32],
        },
        student={"embedding_dim": 32},
    )
    resume = root / layout.teacher_dir("v1") / layout.RESUME_CHECKPOINT
    cmd = [
        sys.executable,
        "-m",
        "pokecard.cli",
        "train",
        "--root",
        str(root),
        "--preset",
        str(preset),
        "--stage",
        "teacher",
        "--no-track",
        "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.time() + 240
        epoch = -1
        while time.time() < deadline and proc.poll() is None:
            if resume.is_file():
                try:
                    epoch = int(load_checkpoint_bytes(resume.read_bytes())["epoch"])
                except Exception:  # noqa: BLE001 - caught mid-rename; try again
                    epoch = -1
                if epoch >= 1:
                    break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert epoch >= 1, "no epoch checkpoint appeared in time"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    last = int(load_checkpoint_bytes(resume.read_bytes())["epoch"])
    assert last >= epoch
    assert not (root / layout.teacher_checkpoint("v1")).exists()  # it never finished
    # The store writes the file, then records its sha256 in the manifest: a kill between the
    # two leaves a whole checkpoint whose bytes the manifest does not know. Make that case
    # happen every time (same checkpoint, re-serialized without the manifest): still resumes.
    ck = load_checkpoint_bytes(resume.read_bytes())
    buf = io.BytesIO()
    torch.save({**ck, "rewritten_outside_the_store": True}, buf)
    resume.write_bytes(buf.getvalue())

    res = train(root, stages=["teacher"], preset=str(preset), track=False)
    t = res.stage("teacher")
    assert t.status == "ran"
    assert t.resumed_from_epoch == last
    assert t.epochs_run == 40 - (last + 1)
    assert (root / layout.teacher_checkpoint("v1")).is_file()
    assert not resume.exists()
