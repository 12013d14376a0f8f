"""`pokecard live` (the camera loop) and `pokecard compare-backends`."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, json_mode


def live_cmd(
    source: str = typer.Option("picamera2", "--source", help="picamera2 | opencv:N | VIDEO | FOLDER"),
    root: str = ROOT_OPT,
    bundle: Path = typer.Option(
        None, "--bundle", help="An unpacked bundle (a release): its root and config."
    ),
    backend: str = typer.Option(None, "--backend", help="auto | onnx | torch | hailo"),
    k: int = typer.Option(None, "--k", min=1, help="Vote over the last k frames (default 5)."),
    min_votes: int = typer.Option(
        None, "--min-votes", min=1, help="Frames of k that must agree (default 3)."
    ),
    csv_file: Path = typer.Option(None, "--csv", help="Append each new stable card to this collection CSV."),
    max_fps: float = typer.Option(
        None, "--max-fps", help="Pace the loop (e.g. a video at its own frame rate)."
    ),
    min_sharpness: float = typer.Option(120.0, "--min-sharpness", help="Gate: variance of the Laplacian."),
    max_motion: float = typer.Option(
        12.0, "--max-motion", help="Gate: mean grey difference from the last frame."
    ),
) -> None:
    """Recognize from a camera: one JSON line on stdout each time a stable card appears or changes."""
    import json
    import logging

    from pokecard.config import load_settings
    from pokecard.edge import bundle as bd
    from pokecard.edge.backends import recognizer_backend
    from pokecard.edge.live import Gate, run_live
    from pokecard.edge.vote import CardVote
    from pokecard.recognize import Recognizer

    json_mode(True)
    config: dict = {}
    if bundle is not None:
        config = json.loads((bundle / bd.CONFIG).read_text(encoding="utf-8"))
        root = str(bundle / bd.ROOT_DIR)
    rec = Recognizer(
        root or load_settings().root, backend=recognizer_backend(backend or config.get("backend", "auto"))
    )
    vote = CardVote(k=k or config.get("vote_k", 5), min_votes=min_votes or config.get("vote_min", 3))
    logging.getLogger("pokecard.edge.live").setLevel(logging.INFO)
    stats = run_live(
        rec,
        source,
        emit_json,
        vote=vote,
        gate=Gate(min_sharpness, max_motion),
        csv_path=csv_file,
        max_fps=max_fps,
    )
    typer.echo("live: summary " + json.dumps(stats.as_dict(), sort_keys=True), err=True)


def compare_backends_cmd(
    a: str = typer.Argument(
        ..., help="Backend A: onnx | torch | hailo, optionally :MODEL (e.g. onnx:float.onnx)."
    ),
    b: str = typer.Argument(..., help="Backend B, same form."),
    photos: list[Path] = typer.Argument(..., help="Photos or folders of photos."),
    root: str = ROOT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Embed the same detected, rectified cards with two backends: mean/min cosine, top-1 agreement."""
    from pokecard.config import load_settings
    from pokecard.edge.compare import compare_backends

    json_mode(as_json)
    rep = compare_backends(root or load_settings().root, a, b, photos)
    if as_json:
        emit_json(rep)
    else:
        console().print(
            f"{rep['a']} vs {rep['b']} on {rep['photos']} photos: cosine mean {rep['cosine_mean']:.4f}, "
            f"min {rep['cosine_min']:.4f}; top-1 agreement {rep['top1_agreement']:.1%}",
            highlight=False,
        )


def bench_edge_cmd(
    quick: bool = typer.Option(False, "--quick", help="Fewer crops and frames."),
    as_json: bool = JSON_OPT,
) -> None:
    """ONNX float32 vs int8 per-crop latency and live-loop frames/s on a video (docs/edge.md)."""
    from pokecard.bench import edge

    json_mode(as_json)
    res = edge.main(quick=quick)
    if as_json:
        emit_json(res)
    else:
        console().print(edge.markdown(res), highlight=False)


def register(app: typer.Typer) -> None:
    from pokecard.cli.common import group

    app.command("live")(live_cmd)
    app.command("compare-backends")(compare_backends_cmd)
    group(app, "bench", "Benchmarks: reports/*.json and the tables in docs/benchmarks.md.").command("edge")(
        bench_edge_cmd
    )
