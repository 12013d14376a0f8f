"""Deploy over a real OpenSSH server on 127.0.0.1 into a temporary folder: a real venv with
the wheel installed, a real `pokecard selftest` on the target, rollback and the faults."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pokecard.edge import deploy as dp
from pokecard.edge.errors import DeployError
from pokecard.edge.ssh import Remote

from .conftest import REPO, Sshd, free_port


def _remote(s: Sshd, **kw) -> Remote:  # noqa: ANN003
    return Remote(s.host, ssh_config=s.ssh_config, **kw)


def _opts(base: Path, **kw) -> dp.DeployOptions:  # noqa: ANN003
    return dp.DeployOptions(base=str(base), python=sys.executable, offline=True, **kw)


def _current(base: Path) -> str | None:
    link = base / "current"
    return os.readlink(link).split("/", 1)[1] if link.is_symlink() else None


def _deploy_cli(s: Sshd, base: Path, bundle: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pokecard", "deploy", str(bundle), "--host", s.host, "--ssh-config", str(s.ssh_config),
        "--dir", str(base), "--python", sys.executable, "--offline", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("target") / "pokecard"


def test_first_deploy_installs_a_release_that_passes_selftest(
    sshd: Sshd, target: Path, good_bundle: Path
) -> None:
    proc = subprocess.run(
        _deploy_cli(sshd, target, good_bundle, "--keep", "2"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rel = _current(target)
    assert rel and f"releases/{rel} is live" in proc.stdout
    for step in ("preflight", "upload", "unpack", "verify", "venv", "switch", "selftest"):
        assert f"{step}:" in proc.stderr
    d = target / "releases" / rel
    assert not (target / "releases" / f"{rel}.incomplete").exists()
    # a real install: the release's venv imports pokecard from its own site-packages
    where = _remote(sshd).run(f"{d}/venv/bin/python -c 'import pokecard; print(pokecard.__file__)'", "check")
    assert where.startswith(str(d / "venv" / "lib")), where
    assert (d / "venv" / "pyvenv.cfg").read_text().count("include-system-site-packages = true") == 1


def test_broken_model_rolls_back_by_itself(sshd: Sshd, target: Path, broken_bundle: Path) -> None:
    before = _current(target)
    assert before
    proc = subprocess.run(
        _deploy_cli(sshd, target, broken_bundle), capture_output=True, text=True, env=_env(), timeout=300
    )
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()[-1]
    assert "health check failed, rolled back" in err and f"releases/{before} is live again" in err
    assert "cannot load the model" in err
    assert _current(target) == before
    assert [p.name for p in (target / "releases").glob("*.failed")]  # kept for inspection


def test_killed_deploy_leaves_the_previous_release_live(sshd: Sshd, target: Path, good_bundle: Path) -> None:
    before = _current(target)
    p = subprocess.Popen(
        _deploy_cli(sshd, target, good_bundle),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,
    )
    deadline = time.time() + 120
    while not list((target / "releases").glob("*.incomplete")):
        assert p.poll() is None and time.time() < deadline, "the deploy ended before it could be killed"
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)  # the deploy and its ssh client, mid-install
    p.wait()
    assert _current(target) == before
    ok = _remote(sshd).run(f"{target}/current/venv/bin/pokecard selftest --bundle {target}/current", "check")
    assert "selftest ok" in ok


def test_second_deploy_cleans_up_keeps_n_and_rolls_back_by_hand(
    sshd: Sshd, target: Path, good_bundle: Path
) -> None:
    first = _current(target)
    res = dp.Deployer(_remote(sshd), _opts(target, keep=2)).deploy(good_bundle)
    print("deploy step seconds:", res.timings)
    assert res.previous == first and _current(target) == res.release != first
    assert res.selftest and res.selftest["passed"]
    names = sorted(p.name for p in (target / "releases").iterdir())
    assert names == sorted([first, res.release])  # leftover of the killed deploy and the failed one removed
    back = dp.Deployer(_remote(sshd), _opts(target)).rollback()
    assert back.release == first and _current(target) == first and back.selftest["passed"]
    third = dp.Deployer(_remote(sshd), _opts(target, keep=2)).deploy(good_bundle)
    names = sorted(p.name for p in (target / "releases").iterdir())
    assert names == sorted([res.release, third.release])  # the newest 2 kept, the oldest removed


def test_systemd_unit_verifies(target: Path, tmp_path: Path) -> None:
    """The unit as the deploy renders it (same sed) passes `systemd-analyze verify`."""
    import shutil

    from conftest import require_or_skip

    require_or_skip(
        shutil.which("systemd-analyze") is not None,
        "systemd-analyze not installed",
        "POKECARD_REQUIRE_SYSTEMD",
    )
    unit = tmp_path / dp.UNIT_NAME
    rendered = subprocess.run(
        ["sh", "-c", dp.render_unit_cmd(str(target), "root", "video.mp4")],
        capture_output=True,
        text=True,
        check=True,
    )
    unit.write_text(rendered.stdout)
    assert (
        f"ExecStart={target}/current/venv/bin/pokecard live --bundle {target}/current --source video.mp4"
        in unit.read_text()
    )
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (target / "current" / "venv" / "bin" / "pokecard").rename(target / "pk")  # a missing program is caught
    try:
        assert subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True).returncode != 0
    finally:
        (target / "pk").rename(target / "current" / "venv" / "bin" / "pokecard")


def test_dry_run_prints_every_step_and_changes_nothing(sshd: Sshd, tmp_path: Path, good_bundle: Path) -> None:
    lines: list[str] = []
    dp.Deployer(_remote(sshd), _opts(tmp_path / "t"), echo=lines.append, dry_run=True).deploy(good_bundle)
    assert [ln.split(":")[0] for ln in lines] == [
        "preflight",
        "upload",
        "unpack",
        "verify",
        "venv",
        "switch",
        "selftest",
    ]
    assert not (tmp_path / "t").exists()
    lines.clear()
    dp.Deployer(_remote(sshd), _opts(tmp_path / "t", systemd=True), echo=lines.append, dry_run=True).deploy(
        good_bundle
    )
    unit = next(ln for ln in lines if ln.startswith("systemd:"))
    assert (
        "systemctl enable pokecard-live.service" in unit and "systemctl restart pokecard-live.service" in unit
    )


def test_corrupted_upload_is_refused(
    sshd: Sshd, target: Path, good_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _current(target)
    data = bytearray(good_bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one bit flipped in transit
    monkeypatch.setattr(dp, "open_upload", lambda path: io.BytesIO(bytes(data)))
    n = len(list((target / "releases").iterdir()))
    with pytest.raises(DeployError, match="corrupted upload: the bundle arrived with sha256"):
        dp.Deployer(_remote(sshd), _opts(target)).deploy(good_bundle)
    assert _current(target) == before and len(list((target / "releases").iterdir())) == n
    assert not list((target / "incoming").iterdir())


def test_unreachable_host_and_refused_key(sshd: Sshd, tmp_path: Path, good_bundle: Path) -> None:
    closed = Remote(sshd.host, ssh_config=sshd.ssh_config, port=free_port())
    with pytest.raises(DeployError, match="cannot reach the host over SSH .*Connection refused"):
        dp.Deployer(closed, _opts(tmp_path / "t")).deploy(good_bundle)
    # no multiplexing: the other tests' master connection would let it in without a key
    refused = Remote(sshd.host, port=sshd.port, identity=sshd.other_key, multiplex=False,
                     options=[f"UserKnownHostsFile={tmp_path}/kh", "StrictHostKeyChecking=accept-new"])  # fmt: skip
    with pytest.raises(DeployError, match="authentication refused"):
        dp.Deployer(refused, _opts(tmp_path / "t")).deploy(good_bundle)
    from pokecard.cli import run

    argv = [
        "deploy",
        str(good_bundle),
        "--host",
        sshd.host,
        "--port",
        str(free_port()),
        "--dir",
        str(tmp_path / "t"),
    ]
    assert run(argv) == 1


def test_disk_full_on_the_target(sshd: Sshd, tmp_path: Path, good_bundle: Path) -> None:
    from conftest import require_or_skip

    small = tmp_path / "small"
    small.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], capture_output=True
        ).returncode
        == 0
    )
    require_or_skip(mounted, "cannot mount a small tmpfs here (needs root)", "POKECARD_REQUIRE_SSHD")
    try:
        with pytest.raises(
            DeployError, match=r"not enough disk space under .*small/pokecard \(4\.\d MB free"
        ):
            dp.Deployer(_remote(sshd), _opts(small / "pokecard")).deploy(good_bundle)
        assert not list((small / "pokecard" / "incoming").iterdir())
        # and when the space runs out mid-upload (the free-space check passed), one clear line too
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dp, "SPACE_FACTOR", 0)
            mp.setattr(dp, "VENV_BYTES", 0)
            with pytest.raises(
                DeployError, match="the target's disk is full during upload .*No space left on device"
            ):
                dp.Deployer(_remote(sshd), _opts(small / "pokecard")).deploy(good_bundle)
        assert not (small / "pokecard" / "current").exists()
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_make_deploy_pi_runs_bundle_then_deploy() -> None:
    """`make deploy-pi` is bundle + deploy (setup skipped with -o: it would build a venv)."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    base = ["make", "-s", "-C", str(REPO), "-o", "setup", "deploy-pi"]
    missing = subprocess.run(base, capture_output=True, text=True)
    assert missing.returncode == 2 and "set PI_HOST=user@host" in missing.stdout
    plan = subprocess.run([*base, "-n", "PI_HOST=pi@raspberrypi.local", "ROOT=r", "BUNDLE=b.tgz", "DEPLOY_ARGS=--systemd"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "pokecard bundle --root r --out b.tgz" in plan
    assert "pokecard deploy b.tgz --host pi@raspberrypi.local --dir pokecard  --systemd" in plan
