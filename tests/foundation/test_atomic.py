from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from pokecard import atomic


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path) -> None:
    p = tmp_path / "a" / "f.json"
    atomic.write_json(p, {"x": 1})
    atomic.write_json(p, {"x": 2})
    assert p.read_text().strip().endswith("}") and '"x": 2' in p.read_text()
    assert [q.name for q in p.parent.iterdir()] == ["f.json"]


def test_exception_mid_write_keeps_previous_file(tmp_path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_open(p) as fh:
        fh.write(b"partial new")
        raise RuntimeError("crash")
    assert p.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [p]


def test_killed_process_mid_write_keeps_previous_file(tmp_path) -> None:
    """A process killed (SIGKILL, no cleanup) while writing leaves the old file intact."""
    p = tmp_path / "big.bin"
    p.write_bytes(b"previous")
    code = textwrap.dedent(f"""
        import os, sys
        from pokecard import atomic
        with atomic.atomic_open({str(p)!r}) as fh:
            fh.write(b"x" * 1000)
            fh.flush()
            print("writing", flush=True)
            os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9 and "writing" in proc.stdout
    assert p.read_bytes() == b"previous"
    leftovers = [q.name for q in tmp_path.iterdir() if q != p]
    assert all(n.startswith(".big.bin.") for n in leftovers)  # a stale temp, never the target


def test_atomic_open_rejects_read_mode(tmp_path) -> None:
    with pytest.raises(ValueError), atomic.atomic_open(tmp_path / "x", "rb"):
        pass
    assert not os.path.exists(tmp_path / "x")
