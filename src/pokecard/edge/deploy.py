"""`pokecard deploy`: ship a bundle to a Pi over SSH as an atomic release, with rollback.

Target layout under ``--dir`` (default ``pokecard`` in the login's home)::

    releases/<timestamp>/            one unpacked, verified bundle + its venv
    releases/<timestamp>.incomplete  marker while a release is being installed
    current -> releases/<timestamp>  the live release (switched by renaming a temporary link)
    incoming/                        uploads in flight

Nothing before the switch touches ``current``, and the switch is one rename, so a deploy
killed at any point leaves the previous release live. A failing health check switches back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pokecard.edge import manifest as bm
from pokecard.edge.errors import DeployError
from pokecard.edge.ssh import Remote, q

log = logging.getLogger(__name__)

UNIT_NAME = "pokecard-live.service"
SPACE_FACTOR = 3  # archive + unpacked copy + headroom
VENV_BYTES = 40 * 1024 * 1024  # a venv with pip, measured ~25 MB


@dataclass
class DeployOptions:
    base: str = "pokecard"
    keep: int = 3
    python: str = "python3"
    offline: bool = False  # install the wheel alone (--no-deps --no-index): deps come from the system
    systemd: bool = False
    source: str = "picamera2"
    selftest: bool = True


@dataclass
class DeployResult:
    host: str
    release: str | None
    previous: str | None
    rolled_back: bool = False
    removed: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    selftest: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


Echo = Callable[[str], None]


def release_name(now: dt.datetime | None = None) -> str:
    """UTC timestamp to the millisecond: sorts by time, unique across quick redeploys."""
    t = now or dt.datetime.now(dt.UTC)
    return t.strftime("%Y%m%dT%H%M%S.") + f"{t.microsecond // 1000:03d}Z"


def open_upload(path: Path) -> IO[bytes]:
    """The byte stream sent to the target (a seam for the corrupted-upload test)."""
    return open(path, "rb")


def render_unit_cmd(abs_base: str, user: str, source: str) -> str:
    """The target-side shell pipeline that fills the release's unit template (``user`` may
    be a ``$(...)`` the target expands)."""
    unit = f"{abs_base}/current/systemd/{UNIT_NAME}"
    return (
        f'sed -e "s|{{user}}|{user}|g" -e {q("s|{base}|" + abs_base + "|g")} '
        f"-e {q('s|{source}|' + source + '|g')} {q(unit)}"
    )


class Deployer:
    def __init__(
        self, remote: Remote, opts: DeployOptions, echo: Echo | None = None, dry_run: bool = False
    ) -> None:
        self.r = remote
        self.o = opts
        self.echo = echo or (lambda s: log.info("%s", s))
        self.dry_run = dry_run
        self.steps: list[str] = []
        self.timings: dict[str, float] = {}  # seconds per step, for the log and docs/edge.md
        b = opts.base.rstrip("/") or "."
        self.base = b
        self.rel = f"{b}/releases"

    # -- one remote step -------------------------------------------------------------
    def step(self, name: str, command: str, stdin: IO[bytes] | bytes | None = None, what: str = "") -> str:
        self.steps.append(name)
        self.echo(
            f"{name}: {what or command}" if not self.dry_run else f"{name}: ssh {self.r.host} {command}"
        )
        if self.dry_run:
            return ""
        t0 = time.perf_counter()
        try:
            return self.r.run(command, name, stdin)
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 2)

    def _switch_cmd(self, release: str) -> str:
        # the .incomplete marker goes only here, at the commit point: a deploy killed earlier (its
        # remote pip may even finish after the client died) leaves a release the next one removes
        tmp, marker = f"{self.base}/.current.tmp", f"{self.rel}/{release}.incomplete"
        return (
            f"rm -f {q(marker)} && ln -sfn {q('releases/' + release)} {q(tmp)} && "
            f"mv -Tf {q(tmp)} {q(self.base + '/current')}"
        )

    def _restart_cmd(self) -> str:
        sudo = '$( [ "$(id -u)" = 0 ] || echo sudo )'
        return f"{sudo} systemctl restart {UNIT_NAME}"

    # -- the pieces ------------------------------------------------------------------
    def preflight(self, need: int) -> tuple[str | None, str, list[str]]:
        """Check the target, clear leftovers of killed deploys; (current, abs base, releases)."""
        py, rel, b = q(self.o.python), q(self.rel), q(self.base)
        cmd = (
            f"set -e; command -v {py} >/dev/null || {{ echo 'no {self.o.python} on the target' >&2; exit 3; }}; "
            f"mkdir -p {rel} {b}/incoming; cur=$(readlink {b}/current || true); "
            f'for m in {rel}/*.incomplete; do [ -e "$m" ] || continue; d=${{m%.incomplete}}; '
            f'[ "releases/${{d##*/}}" = "$cur" ] || rm -rf "$d"; rm -f "$m"; done; rm -f {b}/incoming/*.part; '
            f'echo "cur=$cur"; echo "abs=$(cd {b} && pwd -P)"; '
            f"echo \"free=$(df -Pk {b}/incoming | awk 'NR==2{{print $4}}')\"; "
            f"echo \"releases=$(cd {rel} && ls -1 | grep -v -e '\\.incomplete$' -e '\\.failed$' | tr '\\n' ' ')\""
        )
        out = self.step(
            "preflight", cmd, what=f"{self.r.host}: {self.o.python}, free space, leftovers under {self.base}"
        )
        if self.dry_run:
            return None, self.base, []
        vals = dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)
        free = int(vals.get("free") or 0) * 1024
        if need and free < need:
            raise DeployError(
                f"{self.r.host}: not enough disk space under {vals.get('abs', self.base)} "
                f"({free / 1e6:.1f} MB free, the release needs {need / 1e6:.1f} MB); free space there and deploy again"
            )
        cur = vals.get("cur") or None
        return (
            (cur.split("/", 1)[1] if cur and "/" in cur else cur),
            vals.get("abs", self.base),
            vals.get("releases", "").split(),
        )

    def upload(self, bundle: Path, release: str) -> str:
        part = f"{self.base}/incoming/{release}.tar.gz.part"
        want = hashlib.sha256(bundle.read_bytes()).hexdigest() if not self.dry_run else ""
        with open_upload(bundle) as fh:
            out = self.step(
                "upload",
                f"cat > {q(part)} && sha256sum {q(part)}",
                stdin=fh,
                what=f"{bundle.name} ({bundle.stat().st_size / 1e6:.1f} MB) -> {part}",
            )
        got = out.split()[0] if out.split() else ""
        if not self.dry_run and got != want:
            self.r.run(f"rm -f {q(part)}", "cleanup")
            raise DeployError(
                f"{self.r.host}: corrupted upload: the bundle arrived with sha256 {got[:12]}..., "
                f"the local file has {want[:12]}...; nothing was changed on the target, deploy again"
            )
        return part

    def install(self, part: str, release: str) -> None:
        d, marker = f"{self.rel}/{release}", f"{self.rel}/{release}.incomplete"
        self.step(
            "unpack",
            f"set -e; touch {q(marker)}; mkdir {q(d)}; tar -xzf {q(part)} -C {q(d)}; rm -f {q(part)}",
            what=f"-> {d}",
        )
        src = Path(bm.__file__).read_bytes()
        self.step(
            "verify",
            f"{q(self.o.python)} - {q(d)}",
            stdin=src,
            what=f"sha256 of every file in {d} against bundle.json",
        )
        # --force-reinstall: a pokecard the system already has must not stand in for the release's
        # the system's pip (Debian's python3-pip on a Pi) is seen through --system-site-packages;
        # only where there is none does the venv get its own (ensurepip: ~10 s more here)
        vpy = q(d + "/venv/bin/python")
        pip = "--no-deps --no-index" if self.o.offline else f"-r {q(d + '/requirements-pi.txt')}"
        self.step(
            "venv",
            f"set -e; {q(self.o.python)} -m venv --without-pip --system-site-packages {q(d + '/venv')}; "
            f"{vpy} -m pip --version >/dev/null 2>&1 || {vpy} -m ensurepip -q; "
            f"{vpy} -m pip install -q --disable-pip-version-check --force-reinstall {pip} {q(d)}/wheels/*.whl",
            what=f"{d}/venv (--system-site-packages) + the pokecard wheel"
            + (" (offline)" if self.o.offline else ""),
        )

    def switch(self, release: str) -> None:
        self.step("switch", self._switch_cmd(release), what=f"current -> releases/{release} (atomic rename)")

    def systemd(self, abs_base: str) -> None:
        sudo = '$( [ "$(id -u)" = 0 ] || echo sudo )'
        render = render_unit_cmd(abs_base, "$(id -un)", self.o.source)
        self.step(
            "systemd",
            f"set -e; {render} | {sudo} tee /etc/systemd/system/{UNIT_NAME} >/dev/null; "
            f"{sudo} systemd-analyze verify /etc/systemd/system/{UNIT_NAME} || true; "
            f"{sudo} systemctl daemon-reload; {sudo} systemctl enable {UNIT_NAME}; {self._restart_cmd()}",
            what=f"install and restart {UNIT_NAME}",
        )

    def health(self) -> dict[str, Any]:
        import json

        cur = f"{self.base}/current"
        out = self.step(
            "selftest",
            f"{q(cur + '/venv/bin/pokecard')} selftest --bundle {q(cur)} --json",
            what="pokecard selftest on the target",
        )
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}

    def prune(self, current: str) -> list[str]:
        """Remove failed releases and complete ones beyond the newest ``keep`` (never ``current``)."""
        cmd = f"cd {q(self.rel)} && ls -1"
        out = self.step("prune", cmd, what=f"keep the newest {self.o.keep} releases")
        names = sorted(n for n in out.split() if not n.endswith(".incomplete"))
        failed = [n for n in names if n.endswith(".failed")]
        complete = [n for n in names if not n.endswith(".failed")]
        drop = [n for n in complete[: max(0, len(complete) - self.o.keep)] if n != current] + failed
        if drop and not self.dry_run:
            self.r.run(f"cd {q(self.rel)} && rm -rf -- " + " ".join(q(n) for n in drop), "prune")
        return drop

    # -- whole jobs ------------------------------------------------------------------
    def deploy(self, bundle: Path) -> DeployResult:
        if not bundle.is_file():
            raise DeployError(f"{bundle}: no such bundle file (make one with `pokecard bundle`)")
        release = release_name()
        need = SPACE_FACTOR * bundle.stat().st_size + VENV_BYTES
        previous, abs_base, _ = self.preflight(need)
        res = DeployResult(self.r.host, release, previous, steps=self.steps, timings=self.timings)
        part = self.upload(bundle, release)
        self.install(part, release)
        self.switch(release)
        if self.o.systemd:
            self.systemd(abs_base)
        if self.o.selftest:
            try:
                res.selftest = self.health()
            except DeployError as e:
                self._roll_back(release, previous)
                res.rolled_back = True
                where = (
                    f"releases/{previous} is live again"
                    if previous
                    else "no release is live (there was none before)"
                )
                raise DeployError(f"{self.r.host}: health check failed, rolled back: {where}. {e}") from e
        if not self.dry_run:
            res.removed = self.prune(release)
        return res

    def _roll_back(self, failed: str, previous: str | None) -> None:
        d = f"{self.rel}/{failed}"
        if previous:
            self.switch(previous)
            if self.o.systemd:
                self.step("restart", self._restart_cmd(), what=f"restart {UNIT_NAME} on releases/{previous}")
        else:
            self.step(
                "unlink", f"rm -f {q(self.base + '/current')}", what="remove current (no previous release)"
            )
        self.step("mark-failed", f"mv {q(d)} {q(d + '.failed')}", what=f"keep {d}.failed for inspection")

    def rollback(self) -> DeployResult:
        """Go back one release by hand: the complete release just before ``current``."""
        current, _, releases = self.preflight(0)
        if self.dry_run:
            self.switch("<previous>")
            return DeployResult(self.r.host, None, current, rolled_back=True, steps=self.steps)
        older = [r for r in sorted(releases) if current is None or r < current]
        if not older:
            raise DeployError(
                f"{self.r.host}: nothing to roll back to: releases under {self.base} are {', '.join(releases) or 'none'} "
                f"and current is {current or 'unset'}"
            )
        self.switch(older[-1])
        if self.o.systemd:
            self.step("restart", self._restart_cmd(), what=f"restart {UNIT_NAME}")
        res = DeployResult(self.r.host, older[-1], current, rolled_back=True, steps=self.steps)
        if self.o.selftest:
            res.selftest = self.health()
        return res
