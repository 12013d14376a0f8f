"""Fixtures for the edge tests: a small trained root (8 synthetic cards + the released int8
student, no torch), a wheel built once, bundles, and a real OpenSSH server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_or_skip

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "models" / "temporal-forces-student"
N_CARDS = 8
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)


@pytest.fixture(scope="session")
def edge_catalog(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from pokecard.catalog import synth_catalog

    return synth_catalog(N_CARDS, tmp_path_factory.mktemp("edge-synth"), seed=3)


@pytest.fixture(scope="session")
def edge_root(edge_catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """A trained root: the catalogue built, the released student as version v1 and a reference
    DB built by it (uncalibrated: calibration would cost ~10 s and the tests do not need it)."""
    from pokecard import layout
    from pokecard.catalog import build_catalog
    from pokecard.reference.build import build_reference
    from pokecard.store import open_store

    root = tmp_path_factory.mktemp("edge-root")
    build_catalog(edge_catalog, root)
    st = open_store(str(root))
    st.put_file(layout.student_onnx("v1"), STUDENT / "student_stage2_final_int8.onnx")
    st.put_file(layout.model_card(layout.student_dir("v1")), STUDENT / "model_card.json")
    build_reference(root, None, progress=False, calibrate=False)
    return root


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pokecard.edge.bundle import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def good_bundle(edge_root: Path, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pokecard.edge.bundle import make_bundle

    return make_bundle(edge_root, tmp_path_factory.mktemp("bundles") / "good.tar.gz", wheel=wheel).path


@pytest.fixture(scope="session")
def broken_bundle(good_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle that passes its manifest check but whose model cannot run (the deliberately
    broken model of a bad release): its ONNX bytes are garbage, re-hashed into the manifest."""
    from pokecard import layout
    from pokecard.edge import bundle as bd

    d = tmp_path_factory.mktemp("broken")
    stage = bd.unpack(good_bundle, d / "stage")
    model = stage / bd.ROOT_DIR / layout.student_onnx(bd.BUNDLE_VERSION)
    model.write_bytes(b"this is not an ONNX model" * 100)
    meta = json.loads((stage / "bundle.json").read_text())
    (stage / "bundle.json").unlink()
    return bd.pack(
        stage, d / "broken.tar.gz", {k: v for k, v in meta.items() if k not in ("files", "format", "created")}
    ).path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    port: int
    key: Path  # the authorized user key
    other_key: Path  # a key the server does not know
    ssh_config: Path
    user: str

    @property
    def host(self) -> str:
        return f"{self.user}@127.0.0.1"


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1 (free port, throwaway host and user keys). Its
    sessions see this interpreter's site-packages as the "system" packages (PYTHONPATH via
    SetEnv), the way a Pi's venv sees apt's numpy/OpenCV/HailoRT through --system-site-packages."""
    require_or_skip(
        SSHD is not None and shutil.which("ssh-keygen") is not None,
        "OpenSSH server not installed (apt-get install openssh-server)",
        "POKECARD_REQUIRE_SSHD",
    )
    d = tmp_path_factory.mktemp("sshd")
    host_key, key, other = _keygen(d / "host_key"), _keygen(d / "id_user"), _keygen(d / "id_other")
    (d / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = free_port()
    user = (
        os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    )
    cfg = d / "sshd_config"
    cfg.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"SetEnv PYTHONPATH={sysconfig.get_paths()['purelib']}\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir sshd insists on
    log = open(d / "sshd.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([SSHD, "-f", str(cfg), "-D", "-e"], stdout=log, stderr=subprocess.STDOUT)
    client = d / "ssh_config"
    client.write_text(
        f"Host *\n  Port {port}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n"
    )
    try:
        deadline = time.time() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(d / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("sshd did not start listening in 20 s")
                time.sleep(0.1)
        yield Sshd(port, key, other, client, user)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `pokecard ...` in a child process with this checkout's sources first."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-m", "pokecard", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def photo_of(catalog, i: int, seed: int):  # noqa: ANN001, ANN201
    """A simulated phone photo of card ``i`` (held-out evaluation seed), RGB uint8."""
    from pokecard.photo import PhotoConfig, eval_seed, simulate_scene

    return simulate_scene(catalog.load_image(catalog.cards[i]), eval_seed(i, seed), PhotoConfig.eval())[0]
