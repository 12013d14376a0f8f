"""The local AWS emulator: a moto server on 127.0.0.1, started and stopped by pid file.

Used by ``make infra`` (ENV=local) and by the integration tests, so both talk HTTP to the
same kind of server that real AWS clients talk to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pokecard.errors import InfraError

TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Emulator:
    url: str
    pid: int
    port: int

    def stop(self) -> None:
        _kill(self.pid)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_up(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(
    port: int | None = None,
    host: str = "127.0.0.1",
    log_file: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
    detach: bool = False,
) -> Emulator:
    """Start ``moto.server`` and wait until it answers. ``detach`` survives this process."""
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    if is_up(url):
        raise InfraError(f"{url} is already serving; stop it first or pick another port")
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
    except OSError as e:
        raise InfraError(
            f"cannot start the moto server ({e}); is moto[server] installed? run `make setup`"
        ) from e
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InfraError(
                f"moto server exited with code {proc.returncode} on {url}"
                + (f"; see {log_file}" if log_file else "")
            )
        if is_up(url, timeout=0.5):
            return Emulator(url, proc.pid, port)
        time.sleep(0.2)
    _kill(proc.pid)
    raise InfraError(f"moto server did not answer on {url} within {timeout:.0f} s")


def _kill(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    return
            except ChildProcessError:
                # Not our child (started by another process): poll for existence instead.
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def start_daemon(pid_file: Path, port: int, log_file: Path) -> Emulator:
    """Start a detached emulator recorded in ``pid_file``; reuse it if it is already running."""
    url = f"http://127.0.0.1:{port}"
    if pid_file.is_file():
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
            if is_up(url):
                return Emulator(url, pid, port)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    emu = start(port=port, log_file=log_file, detach=True)
    pid_file.write_text(f"{emu.pid} {port}\n")
    return emu


def stop_daemon(pid_file: Path) -> bool:
    if not pid_file.is_file():
        return False
    try:
        pid = int(pid_file.read_text().split()[0])
    except (ValueError, IndexError):
        pid_file.unlink(missing_ok=True)
        return False
    _kill(pid)
    pid_file.unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m pokecard.aws.emulator start|stop|status [--port N] [--pid-file F]`` for scripts."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m pokecard.aws.emulator")
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("--port", type=int, default=int(os.environ.get("POKECARD_EMULATOR_PORT", "5055")))
    ap.add_argument("--pid-file", type=Path, default=Path(".pokecard/moto.pid"))
    ap.add_argument("--log-file", type=Path, default=Path(".pokecard/moto.log"))
    a = ap.parse_args(argv)
    try:
        if a.action == "start":
            emu = start_daemon(a.pid_file, a.port, a.log_file)
            print(emu.url)
        elif a.action == "stop":
            print("stopped" if stop_daemon(a.pid_file) else "not running")
        else:
            up = is_up(f"http://127.0.0.1:{a.port}")
            print("running" if up else "not running")
            return 0 if up else 1
    except InfraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
