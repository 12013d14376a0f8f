"""Terraform for the project's AWS footprint: what ``make infra``, ``make infra-down`` and
``make lint`` run (through ``scripts/infra.sh``), and what the infra tests call.

- ``apply("local")``: start the moto emulator (pid file + port; reused when running),
  ``terraform init`` from the offline provider mirror, ``apply``, then write the outputs
  file that :mod:`pokecard.config` reads (``infra/outputs/local.json``).
- ``apply("prod")``: plan to a file, show it, apply only when approved (``APPROVE=1`` or an
  interactive "yes"), then write ``infra/outputs/prod.json``.
- ``down()``: stop the emulator and drop the local environment's state (the emulator's data
  is gone with it, and moto cannot destroy a model package group anyway).

Provider installation never needs the registry: ``TF_PLUGIN_DIR`` (or a mirror found on
disk, see :func:`find_plugin_dir`) is passed as ``terraform init -plugin-dir``.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pokecard.atomic import write_json
from pokecard.aws import emulator
from pokecard.errors import ConfigError, InfraError

log = logging.getLogger(__name__)

ENVS = ("local", "prod")
INFRA_DIR = Path("infra")
ENVS_DIR = INFRA_DIR / "envs"
MODULES_DIR = INFRA_DIR / "modules"
OUTPUTS_DIR = INFRA_DIR / "outputs"
STATE_DIR = Path(".pokecard")
EMULATOR_PID_FILE = STATE_DIR / "moto.pid"
EMULATOR_LOG_FILE = STATE_DIR / "moto.log"
DEFAULT_EMULATOR_PORT = 5055
PLAN_FILE = "prod.tfplan"
BACKEND_OVERRIDE = "backend_override.tf"
# Only these many levels below / are searched for a provider mirror (like `find / -maxdepth 3`).
_MIRROR_GLOBS = ("/registry.terraform.io", "/*/registry.terraform.io", "/*/*/registry.terraform.io")


def find_plugin_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The provider plugin directory for ``terraform init -plugin-dir``.

    ``TF_PLUGIN_DIR`` wins (an error if it is set but missing); otherwise the parent of the
    first ``registry.terraform.io`` folder within three levels of ``/``. None: no mirror, so
    init goes to the registry as usual.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("TF_PLUGIN_DIR")
    if explicit:
        p = Path(explicit).expanduser()
        if not (p / "registry.terraform.io").is_dir():
            raise ConfigError(
                f"TF_PLUGIN_DIR={explicit}: no registry.terraform.io/ folder inside; point it at the "
                "parent of registry.terraform.io (a Terraform filesystem mirror) or unset it"
            )
        return p
    for pattern in _MIRROR_GLOBS:
        for hit in sorted(glob.glob(pattern)):
            if Path(hit, "hashicorp").is_dir():
                return Path(hit).parent
    return None


def terraform_binary() -> str:
    exe = shutil.which("terraform")
    if exe is None:
        raise InfraError(
            "terraform is not on PATH: install Terraform >= 1.7 (https://developer.hashicorp.com/terraform/install)"
        )
    return exe


def terraform_environ(data_dir: Path | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for terraform: no version-check call home, optional TF_DATA_DIR."""
    env = dict(os.environ if base is None else base)
    env["CHECKPOINT_DISABLE"] = "1"
    # A TF_CLI_CONFIG_FILE that does not exist only makes terraform warn on every command.
    cfg = env.get("TF_CLI_CONFIG_FILE")
    if cfg and not Path(cfg).expanduser().exists():
        env.pop("TF_CLI_CONFIG_FILE")
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)
    return env


@dataclass
class Terraform:
    """One Terraform working directory (an env or a module copy)."""

    workdir: Path
    data_dir: Path | None = None
    plugin_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        args: Sequence[str],
        *,
        capture: bool = False,
        check: bool = True,
        ok_codes: Sequence[int] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        cmd = [terraform_binary(), f"-chdir={self.workdir}", *args]
        env = terraform_environ(self.data_dir)
        env.update(self.extra_env)
        log.debug("running %s", " ".join(cmd))
        proc = subprocess.run(
            cmd,
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
        )
        if check and proc.returncode not in ok_codes:
            detail = f": {(proc.stderr or proc.stdout or '').strip()[-2000:]}" if capture else " (see above)"
            raise InfraError(f"terraform {args[0]} failed in {self.workdir} (exit {proc.returncode}){detail}")
        return proc

    def init(
        self, *, backend: bool = True, backend_config: Path | None = None, capture: bool = False
    ) -> None:
        args = ["init", "-input=false", "-no-color"] if capture else ["init", "-input=false"]
        if self.plugin_dir is not None:
            args.append(f"-plugin-dir={self.plugin_dir}")
        if not backend:
            args.append("-backend=false")
        if backend_config is not None:
            # No -reconfigure/-migrate-state: moving state between backends is a deliberate,
            # manual step (docs/infra.md); terraform stops and says so when it is needed.
            args.append(f"-backend-config={backend_config.resolve()}")
        self.run(args, capture=capture)

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` flattened to {name: value}."""
        proc = self.run(["output", "-json"], capture=True)
        try:
            raw = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError as e:
            raise InfraError(f"terraform output -json in {self.workdir} is not JSON ({e})") from e
        return {name: spec.get("value") for name, spec in raw.items()}


def write_outputs(outputs: Mapping[str, Any], path: Path) -> Path:
    """Write the flat outputs file atomically (what :func:`pokecard.config.load_settings` reads)."""
    missing = [
        k for k in ("bucket", "prefix", "region", "role_arn", "model_package_group") if k not in outputs
    ]
    if missing:
        raise InfraError(f"terraform outputs lack {', '.join(missing)}; is the env's outputs.tf complete?")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, dict(outputs))
    return path


def _env_dir(env: str, repo: Path) -> Path:
    if env not in ENVS:
        raise ConfigError(f"unknown infra environment {env!r}; choose one of: {', '.join(ENVS)}")
    d = repo / ENVS_DIR / env
    if not (d / "main.tf").is_file():
        raise InfraError(f"{d}: no main.tf; run from the repository root")
    return d


@dataclass
class ApplyResult:
    env: str
    applied: bool
    outputs_path: Path | None
    endpoint_url: str | None = None


def apply_local(
    repo: Path | None = None,
    *,
    port: int | None = None,
    env_dir: Path | None = None,
    data_dir: Path | None = None,
    outputs_path: Path | None = None,
    pid_file: Path | None = None,
    plugin_dir: Path | None = None,
    extra_vars: Mapping[str, str] | None = None,
) -> ApplyResult:
    """Start (or reuse) the emulator, apply envs/local to it and write the outputs file.

    ``extra_vars`` are passed as ``-var name=value`` (tests use them; ``make infra`` does not)."""
    repo = (repo or Path.cwd()).resolve()
    env_dir = env_dir or _env_dir("local", repo)
    port = port or int(os.environ.get("POKECARD_EMULATOR_PORT", DEFAULT_EMULATOR_PORT))
    pid_file = pid_file or repo / EMULATOR_PID_FILE
    url = f"http://127.0.0.1:{port}"
    fresh = not emulator.is_up(url)
    emu = emulator.start_daemon(pid_file, port, pid_file.parent / EMULATOR_LOG_FILE.name)
    log.info("emulator %s at %s (pid %s)", "started" if fresh else "reused", emu.url, emu.pid)
    if fresh:
        # State left from an emulator that has since stopped describes data that no longer exists.
        _drop_state(env_dir)
    tf = Terraform(env_dir, data_dir=data_dir, plugin_dir=plugin_dir or find_plugin_dir())
    tf.init()
    var_args = [f"-var={k}={v}" for k, v in {"endpoint_url": emu.url, **(extra_vars or {})}.items()]
    tf.run(["apply", "-input=false", "-auto-approve", *var_args])
    out = write_outputs(tf.outputs(), outputs_path or repo / OUTPUTS_DIR / "local.json")
    return ApplyResult("local", True, out, emu.url)


def apply_prod(
    repo: Path | None = None,
    *,
    approve: bool | None = None,
    env_dir: Path | None = None,
    data_dir: Path | None = None,
    outputs_path: Path | None = None,
    backend_config: Path | None = None,
    plugin_dir: Path | None = None,
) -> ApplyResult:
    """Plan prod to a file and show it; apply it only when ``approve`` (APPROVE=1) or an
    interactive "yes" says so. ``backend_config`` (TF_BACKEND_CONFIG) selects the S3 backend."""
    repo = (repo or Path.cwd()).resolve()
    env_dir = env_dir or _env_dir("prod", repo)
    override = env_dir / BACKEND_OVERRIDE
    if backend_config is not None:
        if not backend_config.is_file():
            raise ConfigError(f"TF_BACKEND_CONFIG={backend_config}: no such file")
        override.write_text(
            "# Generated by pokecard.aws.infra because TF_BACKEND_CONFIG is set: S3 state.\n"
            'terraform {\n  backend "s3" {}\n}\n'
        )
    elif override.exists():
        raise ConfigError(
            f"{override} selects the S3 backend but TF_BACKEND_CONFIG is not set; set it to your "
            "*.s3.tfbackend file (see infra/README.md) or delete the override to go back to local state"
        )
    tf = Terraform(env_dir, data_dir=data_dir, plugin_dir=plugin_dir or find_plugin_dir())
    tf.init(backend_config=backend_config)
    plan = env_dir / PLAN_FILE
    # Captured: the saved plan is shown once, by `terraform show`, below.
    proc = tf.run(
        ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan.name}"],
        capture=True,
        ok_codes=(0, 2),
    )
    outputs_path = outputs_path or repo / OUTPUTS_DIR / "prod.json"
    if proc.returncode == 0:
        log.info("prod: no changes")
        plan.unlink(missing_ok=True)
        return ApplyResult("prod", False, _write_if_applied(tf, outputs_path))
    tf.run(["show", plan.name])
    if approve is None:
        approve = _ask_yes("Apply this plan to prod?")
    if not approve:
        log.warning("prod: plan saved to %s, NOT applied (re-run with APPROVE=1 to apply it)", plan)
        return ApplyResult("prod", False, None)
    tf.run(["apply", "-input=false", plan.name])
    plan.unlink(missing_ok=True)
    return ApplyResult("prod", True, write_outputs(tf.outputs(), outputs_path))


def _write_if_applied(tf: Terraform, path: Path) -> Path | None:
    outputs = tf.outputs()
    return write_outputs(outputs, path) if outputs else None


def _ask_yes(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(f"{question} Only 'yes' is accepted: ")
    except EOFError:
        return False
    return answer.strip() == "yes"


def _drop_state(env_dir: Path) -> list[Path]:
    removed = []
    for name in ("terraform.tfstate", "terraform.tfstate.backup"):
        p = env_dir / name
        if p.exists():
            p.unlink()
            removed.append(p)
    return removed


def down(repo: Path | None = None, *, pid_file: Path | None = None, env_dir: Path | None = None) -> bool:
    """Stop the local emulator and drop envs/local's state (its resources died with it).

    ``terraform destroy`` is not used: moto lacks DeleteModelPackageGroup, so it would hang.
    The outputs file stays, so pokecard keeps pointing at the (now stopped) emulator and says
    it cannot reach it, rather than silently falling back to real AWS.
    """
    repo = (repo or Path.cwd()).resolve()
    stopped = emulator.stop_daemon(pid_file or repo / EMULATOR_PID_FILE)
    for p in _drop_state(env_dir or _env_dir("local", repo)):
        log.info("removed %s", p)
    return stopped


def lint(repo: Path | None = None, *, plugin_dir: Path | None = None) -> None:
    """``terraform fmt -check -recursive`` over infra/ and ``validate`` for every env.

    Validation uses a throwaway TF_DATA_DIR, so it never touches a developer's ``.terraform``.
    """
    repo = (repo or Path.cwd()).resolve()
    Terraform(repo / INFRA_DIR).run(["fmt", "-check", "-recursive", "-diff"], capture=True)
    plugin_dir = plugin_dir or find_plugin_dir()
    for env in ENVS:
        with tempfile.TemporaryDirectory(prefix=f"tf-validate-{env}-") as tmp:
            tf = Terraform(_env_dir(env, repo), data_dir=Path(tmp), plugin_dir=plugin_dir)
            tf.init(backend=False, capture=True)
            tf.run(["validate", "-no-color"], capture=True)
            log.info("terraform validate %s: ok", env)


def main(argv: list[str] | None = None) -> int:
    """``python -m pokecard.aws.infra apply [local|prod] | down | lint``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m pokecard.aws.infra", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="action", required=True)
    a_apply = sub.add_parser("apply", help="apply an environment and write infra/outputs/<env>.json")
    a_apply.add_argument("env", nargs="?", default="local", choices=ENVS)
    sub.add_parser("down", help="stop the local emulator and drop its state")
    sub.add_parser("lint", help="terraform fmt -check and validate")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="infra: %(message)s")
    try:
        if a.action == "apply" and a.env == "local":
            r = apply_local()
            print(f"infra: local footprint applied on {r.endpoint_url}; outputs in {r.outputs_path}")
        elif a.action == "apply":
            approve_env = os.environ.get("APPROVE", "")
            backend = os.environ.get("TF_BACKEND_CONFIG")
            r = apply_prod(
                approve=True if approve_env in ("1", "yes", "true") else None,
                backend_config=Path(backend) if backend else None,
            )
            if r.applied:
                print(f"infra: prod applied; outputs in {r.outputs_path}")
            elif r.outputs_path:
                print(f"infra: prod has no changes; outputs in {r.outputs_path}")
            else:
                print("infra: prod plan NOT applied (APPROVE=1 or answer 'yes' to apply)")
        elif a.action == "down":
            stopped = down()
            print(
                "infra: emulator "
                + ("stopped" if stopped else "was not running")
                + "; envs/local state dropped (the emulator's data is gone with it)"
            )
        else:
            lint()
            print("infra: terraform fmt and validate ok")
    except (InfraError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
