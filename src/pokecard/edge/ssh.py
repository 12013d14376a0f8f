"""Run commands on the target through the OpenSSH client (``ssh``), one line per failure.

The system client is used rather than paramiko: it reads the user's ~/.ssh/config (aliases,
ProxyJump, agent, known_hosts), so `pokecard deploy --host pi` behaves exactly like `ssh pi`,
and the Pi needs nothing but its stock sshd. docs/edge.md says more.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pokecard.edge.errors import DeployError

UNREACHABLE = (
    "Connection refused",
    "Connection timed out",
    "No route to host",
    "Could not resolve hostname",
    "Network is unreachable",
    "Connection closed",
    "Connection reset",
    "Operation timed out",
)


@dataclass
class Remote:
    """An SSH destination (``user@host``) and the client options to reach it."""

    host: str
    ssh_config: Path | None = None
    port: int | None = None
    identity: Path | None = None
    options: list[str] = field(default_factory=list)  # extra ``-o Key=Value``
    connect_timeout: int = 10
    multiplex: bool = True  # one TCP+auth handshake per deploy, not per step (~0.6 s each here)

    def argv(self, command: str) -> list[str]:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise DeployError("the OpenSSH client (ssh) is not installed: `apt install openssh-client`")
        a = [ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}"]
        if self.ssh_config:
            a += ["-F", str(self.ssh_config)]
        if self.port:
            a += ["-p", str(self.port)]
        if self.identity:
            a += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.multiplex:
            a += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={_control_dir()}/%C",
                "-o",
                "ControlPersist=30",
            ]
        for o in self.options:
            a += ["-o", o]
        return [*a, "--", self.host, command]

    def run(self, command: str, step: str, stdin: IO[bytes] | bytes | None = None) -> str:
        """Run ``command`` with ``sh -c`` semantics on the target; its stdout, or a DeployError."""
        if stdin is not None and not isinstance(stdin, bytes):
            try:
                stdin.fileno()
            except (AttributeError, OSError, ValueError):  # an in-memory stream: send its bytes
                stdin = stdin.read()
        kw: dict = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin or subprocess.DEVNULL}
        proc = subprocess.run(self.argv(command), capture_output=True, **kw)
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", "replace")
        raise self.error(
            step,
            proc.returncode,
            proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace"),
        )

    def error(self, step: str, rc: int, text: str) -> DeployError:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {rc}"
        if rc == 255:
            if any("Permission denied" in ln or "Too many authentication failures" in ln for ln in lines):
                return DeployError(
                    f"{self.host}: authentication refused ({last}); check the user name, the key "
                    "(--identity) and the target's ~/.ssh/authorized_keys"
                )
            if any(any(u in ln for u in UNREACHABLE) for ln in lines) or not lines:
                return DeployError(
                    f"{self.host}: cannot reach the host over SSH ({last}); is it on and is sshd running?"
                )
        if any("No space left on device" in ln or "Disk quota exceeded" in ln for ln in lines):
            hit = next(ln for ln in lines if "No space left" in ln or "quota" in ln)
            return DeployError(
                f"{self.host}: the target's disk is full during {step} ({hit}); free space there and deploy again"
            )
        return DeployError(f"{self.host}: {step} failed on the target (exit {rc}): {last}")


def _control_dir() -> str:
    """A private folder for the multiplexing sockets (short path: sockets have a ~100 byte limit)."""
    import os
    import tempfile

    d = Path(tempfile.gettempdir()) / f"pokecard-ssh-{os.getuid()}"
    d.mkdir(mode=0o700, exist_ok=True)
    return str(d)


def q(s: str) -> str:
    """Quote one word for the remote shell."""
    return shlex.quote(s)
