"""Edge commands: `export hef`, `bundle` (+ `verify`), `deploy`, `selftest`, `live`,
`compare-backends`. Thin over pokecard.export.hailo and pokecard.edge."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group, json_mode


def export_hef_cmd(
    root: str = ROOT_OPT,
    model: str = typer.Option(
        "auto", "--model", help="Student ONNX, float32 (path or store key); auto = the newest."
    ),
    hw_arch: str = typer.Option("hailo8l", "--hw-arch", help="hailo8 | hailo8l | hailo8r"),
    calib: int = typer.Option(
        1024, "--calib", min=8, help="Calibration images (simulated photos, detected and rectified)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Compile the student ONNX to a HEF. Without the Dataflow Compiler: prepare the calibration
    set and model script, then exit 2 saying what to install and the command to run."""
    from pokecard.export import hailo

    json_mode(as_json)
    result = hailo.export_hef(root, model=model, hw_arch=hw_arch, calib=calib)
    if as_json:
        emit_json(result)
    else:
        console().print(f"wrote {result['hef']} ({hw_arch}, {calib} calibration images)", highlight=False)


def _bundle_callback(
    ctx: typer.Context,
    root: str = ROOT_OPT,
    out: Path = typer.Option(None, "--out", help="The bundle archive to write (.tar.gz)."),
    model: str = typer.Option(
        None, "--model", help="The model to carry (default: the one that built the DB)."
    ),
    wheel: Path = typer.Option(
        None, "--wheel", help="A prebuilt pokecard wheel (default: built from this checkout)."
    ),
    photos: int = typer.Option(3, "--selftest-photos", min=1, help="Self-test photos to bundle."),
    max_ms: float = typer.Option(2000.0, "--max-ms", help="Self-test latency bound per photo (ms)."),
    backend: str = typer.Option(
        "auto", "--backend", help="Backend on the device: auto | onnx | torch | hailo"
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Bundle model + reference DB + config + systemd unit + wheel, with a sha256 manifest."""
    if ctx.invoked_subcommand is not None:
        return
    from pokecard.config import load_settings
    from pokecard.edge.bundle import make_bundle
    from pokecard.edge.errors import BundleError

    if out is None:
        raise BundleError("pokecard bundle: give --out FILE (e.g. --out pokecard-bundle.tar.gz)")
    json_mode(as_json)
    info = make_bundle(
        root or load_settings().root,
        out,
        model=model,
        wheel=wheel,
        selftest_photos=photos,
        max_ms=max_ms,
        backend=backend,
    )
    if as_json:
        emit_json(info.as_dict())
    else:
        console().print(
            f"wrote {info.path}: {info.files} files, {info.size / 1e6:.1f} MB, sha256 {info.sha256[:12]}...",
            highlight=False,
        )


def bundle_verify_cmd(
    file: Path = typer.Argument(..., help="A bundle archive."),
    as_json: bool = JSON_OPT,
) -> None:
    """Check every file of a bundle against its manifest (sha256 and size)."""
    from pokecard.edge.bundle import verify_bundle

    man = verify_bundle(file)
    if as_json:
        emit_json(
            {"file": str(file), "ok": True, "files": len(man["files"]), "reference": man.get("reference")}
        )
    else:
        console().print(f"{file}: ok, {len(man['files'])} files match the manifest", highlight=False)


def _remote(host: str, port: int | None, identity: Path | None, ssh_config: Path | None, option: list[str]):  # noqa: ANN202
    from pokecard.edge.ssh import Remote

    return Remote(host, ssh_config=ssh_config, port=port, identity=identity, options=list(option or []))


def deploy_cmd(
    bundle: Path = typer.Argument(None, help="The bundle archive (pokecard bundle --out ...)."),
    host: str = typer.Option(..., "--host", help="user@host of the Pi."),
    base: str = typer.Option(
        "pokecard", "--dir", help="Folder on the target (relative: in the login's home)."
    ),
    keep: int = typer.Option(3, "--keep", min=1, help="Releases to keep on the target."),
    port: int = typer.Option(None, "--port", help="SSH port."),
    identity: Path = typer.Option(None, "--identity", "-i", help="SSH private key."),
    ssh_config: Path = typer.Option(None, "--ssh-config", "-F", help="ssh_config file."),
    option: list[str] = typer.Option(None, "--ssh-option", "-o", help="Extra ssh -o Key=Value (repeatable)."),
    python: str = typer.Option("python3", "--python", help="Python on the target (makes the venv)."),
    offline: bool = typer.Option(
        False, "--offline", help="Install the wheel only (--no-deps --no-index): deps from the system."
    ),
    systemd: bool = typer.Option(
        False, "--systemd/--no-systemd", help="Install and restart the systemd unit."
    ),
    source: str = typer.Option("picamera2", "--source", help="Camera source for the systemd unit."),
    no_selftest: bool = typer.Option(
        False, "--no-selftest", help="Skip the health check (no automatic rollback)."
    ),
    rollback: bool = typer.Option(False, "--rollback", help="Go back one release instead of deploying."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print every step; change nothing."),
    as_json: bool = JSON_OPT,
) -> None:
    """Deploy a bundle to a Pi over SSH: releases/<timestamp>, verify, venv, atomic switch, selftest, rollback."""
    from pokecard.edge.deploy import Deployer, DeployOptions
    from pokecard.edge.errors import DeployError

    json_mode(as_json)
    opts = DeployOptions(
        base=base,
        keep=keep,
        python=python,
        offline=offline,
        systemd=systemd,
        source=source,
        selftest=not no_selftest,
    )
    echo = (
        (lambda s: None)
        if as_json
        else (lambda s: typer.echo(("[dry-run] " if dry_run else "") + s, err=True))
    )
    d = Deployer(_remote(host, port, identity, ssh_config, option), opts, echo=echo, dry_run=dry_run)
    if rollback:
        res = d.rollback()
    else:
        if bundle is None:
            raise DeployError("pokecard deploy: give the bundle file (or --rollback)")
        res = d.deploy(bundle)
    if as_json:
        emit_json(res.as_dict())
    elif not dry_run:
        what = f"rolled back to releases/{res.release}" if rollback else f"releases/{res.release} is live"
        typer.echo(f"{host}: {what}" + (f" (removed {', '.join(res.removed)})" if res.removed else ""))


def selftest_cmd(
    bundle: Path = typer.Option(Path("."), "--bundle", help="An unpacked bundle (a release folder)."),
    backend: str = typer.Option(
        None, "--backend", help="auto | onnx | torch | hailo (default: the bundle config)."
    ),
    max_ms: float = typer.Option(None, "--max-ms", help="Latency bound per photo (default: the bundle)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Health check: load the DB and model, recognize the bundled photos, check cards and latency."""
    from pokecard.edge.backends import recognizer_backend
    from pokecard.edge.selftest import check

    json_mode(as_json)
    rep = check(bundle, backend=recognizer_backend(backend) if backend else None, max_ms=max_ms)
    if as_json:
        emit_json(rep.as_dict())
    else:
        ms = [p["ms"] for p in rep.photos]
        console().print(
            f"selftest ok: {len(ms)} photos right, max {max(ms):.0f} ms ({rep.mode}, {rep.backend})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    group(app, "export", "Export models: ONNX and Hailo HEF.").command("hef")(export_hef_cmd)
    b = typer.Typer(
        help="Bundle a trained root for the Pi; `bundle verify FILE` checks one.", invoke_without_command=True
    )
    b.callback()(_bundle_callback)
    b.command("verify")(bundle_verify_cmd)
    app.add_typer(b, name="bundle")
    app.command("deploy")(deploy_cmd)
    app.command("selftest")(selftest_cmd)
    from pokecard.cli import edge_live

    edge_live.register(app)
