"""`pokecard train`, `pokecard export onnx`, `pokecard demo` and `pokecard bench training`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group, json_mode


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4f}" if abs(x) < 10 else f"{x:.1f}"
    return str(x)


def _print_train(result: Any) -> None:
    from rich.table import Table

    t = Table(title=f"pokecard train - preset {result.preset}, {result.version}, {result.device}")
    for col in ("stage", "status", "seconds", "img/s", "resumed from", "key numbers"):
        t.add_column(col)
    for s in result.stages:
        keys = {k: v for k, v in s.metrics.items() if not k.endswith(".n")}
        nums = ", ".join(f"{k}={_fmt(v)}" for k, v in list(keys.items())[:6])
        t.add_row(
            s.stage,
            s.status,
            f"{s.seconds:.1f}",
            f"{s.images_per_s:.1f}" if s.images_per_s else "",
            "" if s.resumed_from_epoch is None else f"epoch {s.resumed_from_epoch + 1}",
            (nums + (f"  ({s.note})" if s.note else ""))[:240],
        )
    c = console()
    c.print(t)
    c.print(f"root: {result.root}   mlflow run: {result.run_id or '-'}")


def train_cmd(
    catalog: Path = typer.Option(
        None, "--catalog", help="Catalogue folder (metadata.json + images); built into ROOT."
    ),
    root: str = ROOT_OPT,
    preset: str = typer.Option("demo", "--preset", help='demo | full | a JSON file {"base": "demo", ...}.'),
    stage: list[str] = typer.Option(
        None,
        "--stage",
        help="Run only this stage (repeatable): teacher gallery student evaluate export reference.",
    ),
    teacher_weights: Path = typer.Option(
        None, "--teacher-weights", help="Local .safetensors/.pth for the teacher."
    ),
    student_weights: Path = typer.Option(
        None, "--student-weights", help="Local .safetensors/.pth for the student."
    ),
    teacher_arch: str = typer.Option(
        None, "--teacher-arch", help="Override the teacher: alias or timm model name."
    ),
    student_arch: str = typer.Option(
        None, "--student-arch", help="Override the student: alias or timm model name."
    ),
    version: str = typer.Option(None, "--version", help="Model version in the layout [default: v1]."),
    trace: bool = typer.Option(
        False, "--trace", help="Write a PyTorch profiler trace of a few steps per stage."
    ),
    force: bool = typer.Option(False, "--force", help="Rerun stages even when their inputs did not change."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    device: str = typer.Option(None, "--device", help="cpu | cuda [default: cuda when available]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Train teacher + student, evaluate, export ONNX and build the reference DB (resumable, skips unchanged stages)."""
    import dataclasses

    from pokecard.config import load_settings
    from pokecard.train.config import load_preset
    from pokecard.train.pipeline import train

    json_mode(as_json)
    cfg = load_preset(preset)
    if teacher_arch:
        cfg = dataclasses.replace(cfg, teacher=dataclasses.replace(cfg.teacher, model=teacher_arch))
    if student_arch:
        cfg = dataclasses.replace(cfg, student=dataclasses.replace(cfg.student, model=student_arch))
    stages = list(stage) if stage else None
    if stages and catalog is not None and "catalog" not in stages:
        stages = ["catalog", *stages]
    result = train(
        root or load_settings().root,
        catalog=catalog,
        preset=cfg,
        stages=stages,
        teacher_weights=str(teacher_weights) if teacher_weights else None,
        student_weights=str(student_weights) if student_weights else None,
        trace=trace,
        force=force,
        track=not no_track,
        version=version,
        device=device,
    )
    if as_json:
        emit_json(result.as_dict())
    else:
        _print_train(result)


def export_onnx_cmd(
    root: str = ROOT_OPT,
    version: str = typer.Option(None, "--version", help="Model version in the layout [default: v1]."),
    checkpoint: Path = typer.Option(
        None,
        "--checkpoint",
        help="Export this .pt (model_card.json beside it) instead of the root's student.",
    ),
    out: Path = typer.Option(None, "--out", help="With --checkpoint: where to write the .onnx."),
    force: bool = typer.Option(False, "--force", help="Export even if the student did not change."),
    as_json: bool = JSON_OPT,
) -> None:
    """Export the student to ONNX (uint8 NHWC input, normalization inside), check it and test parity."""
    json_mode(as_json)
    if checkpoint is not None:
        from pokecard.errors import ConfigError
        from pokecard.export.onnx import export_onnx
        from pokecard.modelcard import ModelCard, card_path_for
        from pokecard.models import load_checkpoint_bytes, model_from_checkpoint

        if out is None:
            raise ConfigError("--checkpoint needs --out FILE.onnx")
        card = ModelCard.load(card_path_for(checkpoint))
        net = model_from_checkpoint(load_checkpoint_bytes(checkpoint.read_bytes(), str(checkpoint)), card)
        rep = export_onnx(net, card, out)
        from pokecard.store import sha256_file

        card.onnx_sha256 = sha256_file(out)
        card.save(card_path_for(out))
        data = rep.as_dict()
    else:
        from pokecard.config import load_settings
        from pokecard.train.pipeline import train

        res = train(
            root or load_settings().root, stages=["export"], version=version, force=force, track=False
        )
        data = res.as_dict()["stages"][-1]
    if as_json:
        emit_json(data)
    else:
        console().print(data)


def export_int8_cmd(
    model: Path = typer.Option(..., "--model", help="Float32 pokecard ONNX (model_card.json beside it)."),
    catalog: Path = typer.Option(
        ..., "--catalog", help="Catalogue folder whose simulated photos calibrate the activations."
    ),
    out: Path = typer.Option(
        None, "--out", help="Where to write [default: int8/<name>_int8.onnx in the model's folder]."
    ),
    calibration: int = typer.Option(128, "--calibration", min=8, help="Simulated crops to calibrate on."),
    as_json: bool = JSON_OPT,
) -> None:
    """Quantize a student ONNX to int8 for CPUs (onnxruntime): static, per-channel, checked."""
    from pokecard.catalog import load_catalog
    from pokecard.errors import ConfigError, ModelError
    from pokecard.export.calibration import calibration_crops, check_crops
    from pokecard.export.onnx import quantize_int8
    from pokecard.modelcard import ModelCard, card_path_for
    from pokecard.store import sha256_file

    json_mode(as_json)
    if not model.is_file():
        raise ModelError(f"{model}: ONNX model not found")
    card = ModelCard.load(card_path_for(model))
    out = out or model.parent / "int8" / f"{model.stem}_int8.onnx"
    if card_path_for(out).resolve() == card_path_for(model).resolve():
        raise ConfigError(
            f"{out}: put the int8 model in another folder than {model} (a folder has one model card)"
        )
    cat = load_catalog(catalog)
    # the same crops as the HEF's calibration: the device's detection and rectification
    rep = quantize_int8(model, out, calibration_crops(cat, card, calibration), check_crops(cat, card, 64))
    # the int8 model's card: the source's (same input contract), its own file and checks
    card.onnx_sha256 = sha256_file(out)
    card.extra = {
        **card.extra,
        "quantization": {
            "format": "onnxruntime QDQ static, per-channel int8 weights, uint8 activations",
            "source_onnx": str(model),
            "source_onnx_sha256": sha256_file(model),
            "calibration_catalog": str(catalog),
            **rep.as_dict(),
        },
    }
    card.save(card_path_for(out))
    data = rep.as_dict()
    if as_json:
        emit_json(data)
    else:
        console().print(
            f"{out}: int8, {rep.size_bytes / 1e6:.1f} MB, cosine to float32 mean {rep.mean_cosine:.4f} "
            f"(min {rep.min_cosine:.4f}) on {rep.check_images} held-aside crops"
        )


def demo_cmd(
    out: Path = typer.Option(Path("work/demo"), "--out", help="Project root for the demo (created)."),
    cards: int = typer.Option(None, "--cards", help="Demo catalogue size [default: the demo's, 40]."),
    photos: int = typer.Option(
        None, "--photos", help="Held-out photos per card for the recognizer [default: 2]."
    ),
    preset: str = typer.Option("demo", "--preset", help="Training preset (demo, or a JSON file)."),
    report: Path = typer.Option(
        Path("reports/demo.json"), "--report", help="Where to write the demo report."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """The whole path on a generated catalogue: synth -> build -> train -> export -> reference DB -> recognize."""
    from pokecard.demo import markdown_table, run_demo

    json_mode(as_json)
    result = run_demo(out, cards=cards, photos_per_card=photos, preset=preset, report=report)
    if as_json:
        emit_json(result)
    else:
        console().print(markdown_table(result), highlight=False)
        console().print(f"report: {report}")


def bench_training_cmd(
    quick: bool = typer.Option(False, "--quick", help="Demo catalogue only (skip the 218-card run)."),
    minutes: float = typer.Option(30.0, "--minutes", help="Training budget for the real catalogue run."),
    catalog: Path = typer.Option(
        Path("../shared/data/catalog/temporal-forces"),
        "--catalog",
        help="Real catalogue for the budgeted run.",
    ),
    demo: bool = typer.Option(
        True, "--demo/--no-demo", help="Run `pokecard demo` (else keep the last numbers)."
    ),
    real: bool = typer.Option(True, "--real/--no-real", help="Run the budgeted real-catalogue training."),
    threads: int = typer.Option(
        0, "--threads", help="torch threads (0 = default; 1 helps on a contended CPU)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Training benchmark: demo preset result and what a time budget reaches on a real catalogue."""
    from pokecard.bench import training

    json_mode(as_json)
    result = training.run(
        quick=quick, minutes=minutes, catalog=catalog, demo=demo, real=real, threads=threads
    )
    if as_json:
        emit_json(result)
    else:
        console().print(training.markdown(result), highlight=False)


def register(app: typer.Typer) -> None:
    """Register this module's commands on the main app."""
    app.command("train")(train_cmd)
    export_app = group(app, "export", "Export models: ONNX (and Hailo HEF where the compiler exists).")
    export_app.command("onnx")(export_onnx_cmd)
    export_app.command("int8")(export_int8_cmd)
    app.command("demo")(demo_cmd)
    bench_app = group(app, "bench", "Benchmarks: reports/*.json and the tables in docs/benchmarks.md.")
    bench_app.command("training")(bench_training_cmd)
