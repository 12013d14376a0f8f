"""`pokecard index build`, `pokecard recognize` and `pokecard bench recognizer`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group, json_mode
from pokecard.result import Result

CSV_FIELDS = ("card_id", "name", "set", "number", "score", "file", "time")
# what `index build` and `index update` share
CALIBRATE_WITH_OPT = typer.Option(
    None, "--calibrate-with", help="Folder of real photos of cards NOT in the catalogue (and card backs)."
)
NO_CALIBRATE_OPT = typer.Option(False, "--no-calibrate", help="Keep the default unknown thresholds.")
BACKEND_OPT = typer.Option("auto", "--backend", help="Embedder backend: auto | onnxruntime | torch | hailort")


def _root(root: str | None) -> Any:
    from pokecard.config import load_settings
    from pokecard.store import open_store

    return open_store(root) if root else open_store(load_settings().root)


def expand_inputs(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Image files to recognize (folders expanded, sorted) and (path, problem) for unusable inputs."""
    from pokecard.imageio import is_image_name

    files: list[Path] = []
    bad: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            try:
                entries = sorted(p.rglob("*"))
            except OSError as e:
                bad.append((str(p), f"{p}: cannot list the folder ({e.strerror or e})"))
                continue
            for q in entries:
                if q.is_dir():
                    if not os.access(q, os.R_OK | os.X_OK):
                        bad.append((str(q), f"{q}: cannot open the folder (permission denied)"))
                    continue
                if is_image_name(q):
                    files.append(q)
        elif p.exists():
            files.append(p)
        else:
            bad.append((str(p), f"{p}: no such file or folder"))
    return files, bad


def append_csv(path: Path, results: list[Result]) -> int:
    """Append recognized cards to a collection CSV; a file already recorded is not added again."""
    from pokecard import atomic

    existing = ""
    seen: set[str] = set()
    if path.is_file():
        existing = path.read_text(encoding="utf-8")
        for row in csv.DictReader(io.StringIO(existing)):
            if row.get("file"):
                seen.add(row["file"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if not existing:
        w.writerow(CSV_FIELDS)
    elif not existing.endswith("\n"):
        buf.write("\n")
    added = 0
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for r in results:
        if r.card is None:
            continue
        f = str(Path(r.file).resolve())
        if f in seen:
            continue
        seen.add(f)
        c = r.card
        w.writerow((c.card_id, c.name, c.set_code, c.number, r.score, f, now))
        added += 1
    if added or not existing:
        atomic.write_text(path, existing + buf.getvalue())
    return added


def register(app: typer.Typer) -> None:
    index_app = group(app, "index", "The reference DB: one embedding + keypoints per catalogue card.")
    bench_app = group(app, "bench", "Benchmarks: reports/*.json and the tables in docs/benchmarks.md.")

    @index_app.command("build")
    def index_build(
        root: str = ROOT_OPT,
        model: str = typer.Option(
            None, "--model", help="ONNX model (file or key); default: newest student, else training-free."
        ),
        mode: str = typer.Option("auto", "--mode", help="auto | embedding | training-free"),
        calibrate_with: Path = CALIBRATE_WITH_OPT,
        no_calibrate: bool = NO_CALIBRATE_OPT,
        backend: str = BACKEND_OPT,
        as_json: bool = JSON_OPT,
    ) -> None:
        """Build data/reference/ (embeddings, usearch index, keypoints, manifest) for the catalogue under ROOT."""
        from pokecard.errors import ReferenceDBError
        from pokecard.reference.build import build_reference

        json_mode(as_json)
        if calibrate_with is not None and not calibrate_with.is_dir():
            raise ReferenceDBError(f"--calibrate-with {calibrate_with}: not a folder")
        man = build_reference(
            _root(root),
            model,
            mode=mode,
            calibrate=not no_calibrate,
            calibrate_with=calibrate_with,
            backend=backend,
        )
        _report(man.as_dict(), as_json)

    @index_app.command("update")
    def index_update(
        root: str = ROOT_OPT,
        calibrate_with: Path = CALIBRATE_WITH_OPT,
        no_calibrate: bool = NO_CALIBRATE_OPT,
        recalibrate: bool = typer.Option(
            False,
            "--recalibrate",
            help="Calibrate again even when the change is small (default: the calibrated thresholds "
            "are kept while the cards changed since the calibration are at most 5 % of them; "
            "--calibrate-with also calibrates again).",
        ),
        backend: str = BACKEND_OPT,
        as_json: bool = JSON_OPT,
    ) -> None:
        """Bring the reference DB up to date with the catalogue (after `catalog build` added,
        changed or removed cards): same mode and model, only what changed is redone, switched in
        atomically."""
        from pokecard.errors import ReferenceDBError
        from pokecard.reference.build import update_reference

        json_mode(as_json)
        if calibrate_with is not None and not calibrate_with.is_dir():
            raise ReferenceDBError(f"--calibrate-with {calibrate_with}: not a folder")
        man = update_reference(
            _root(root),
            calibrate=not no_calibrate,
            calibrate_with=calibrate_with,
            backend=backend,
            carry_calibration=not recalibrate and calibrate_with is None,
        )
        _report(man.as_dict(), as_json)

    @app.command("recognize")
    def recognize_cmd(
        inputs: list[str] = typer.Argument(..., help="Image files or folders."),
        root: str = ROOT_OPT,
        as_json: bool = JSON_OPT,
        csv_file: Path = typer.Option(None, "--csv", help="Append recognized cards to this collection CSV."),
        top_k: int = typer.Option(5, "--top-k", min=1, help="Candidates per photo in top_k."),
        threads: int = typer.Option(
            None, "--threads", min=1, help="CPU threads for the embedder and OpenCV."
        ),
        backend: str = typer.Option(
            "auto", "--backend", help="Embedder backend: auto | onnxruntime | torch | hailort"
        ),
        no_verify: bool = typer.Option(
            False, "--no-verify", help="Embedding only: skip geometric verification."
        ),
        no_fast: bool = typer.Option(
            False,
            "--no-fast",
            help="Skip the cheap first look (one binarization, no edge snapping): always run the full card search.",
        ),
        embed_first: bool = typer.Option(
            None,
            "--embed-first/--always-verify",
            help="With a model: a decisive embedding match of the first look answers without "
            "geometric verification (score is then a cosine), the others are verified. "
            "Default: on when the reference DB's thresholds were calibrated.",
            show_default=False,
        ),
        no_name_check: bool = typer.Option(
            False,
            "--no-name-check",
            help="Accept a verified card even when the photo's name bar does not read as its "
            "name: more answers when a finger or glare covers the name, but a card that is not "
            "in the catalogue may then be named after a card with the same art.",
        ),
    ) -> int:
        """Recognize the card in each photo (one JSON line per image with --json)."""
        from pokecard.recognize import Recognizer

        json_mode(as_json)
        rec = Recognizer(
            _root(root),
            backend=backend,
            threads=threads,
            top_k=top_k,
            verify=False if no_verify else None,
            fast_first=False if no_fast else None,
            embed_first=embed_first,
            name_check=not no_name_check,
        )
        files, bad = expand_inputs(inputs)
        results: list[Result] = [Result.failed(p, msg) for p, msg in bad]
        if as_json:
            for r in results:
                emit_json(r.to_json())
        from pokecard.progress import track

        for f in track(files, "recognizing"):
            r = rec.recognize_file(f)
            results.append(r)
            if as_json:
                emit_json(r.to_json())
        if not as_json:
            _table(results, rec.mode)
        if csv_file is not None:
            added = append_csv(csv_file, results)
            if not as_json:
                console().print(f"{csv_file}: {added} card(s) added")
        errors = sum(r.status == "error" for r in results)
        if errors:
            typer.echo(f"{errors} of {len(results)} input(s) could not be read", err=True)
        return 1 if errors or not results else 0

    @bench_app.command("recognizer")
    def bench_recognizer(
        quick: bool = typer.Option(
            False, "--quick", help="Fewer photos and sizes (minutes, not tens of minutes)."
        ),
        model: str = typer.Option(
            None,
            "--model",
            help="Student ONNX (model_card.json beside it) for the embedding modes "
            "[default: $POKECARD_BENCH_MODEL, else the student in $POKECARD_ROOT or work/root].",
        ),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Recognizer latency, accuracy vs baselines, corner accuracy, unknown rejection, usearch."""
        from pokecard.bench import recognizer

        json_mode(as_json)
        res = recognizer.main(quick=quick, model=model)
        if as_json:
            emit_json(res)


def _report(d: dict[str, Any], as_json: bool) -> None:
    """What `index build` / `index update` did: the DB, its thresholds, the changes and the stage times."""
    if as_json:
        emit_json(d)
        return
    m = d["model"]
    b = d.get("build") or {}
    con = console()
    con.print(
        f"reference DB: {d['count']} cards, mode [bold]{d['mode']}[/bold], {d['embedding_dim']}-d, {d['keypoints']} keypoints"
    )
    con.print(f"model: {m.get('key') or m.get('path') or m.get('name')}")
    con.print(f"unknown thresholds: {d['thresholds']} ({d['calibration'].get('method')})")
    if b:
        con.print(
            f"changes: {b.get('added', 0)} added, {b.get('removed', 0)} removed, {b.get('changed', 0)} changed, "
            f"{b.get('cards_reused', 0)} reused of {b.get('previous_cards', 0)} in the previous DB"
        )
        stages = ", ".join(f"{k} {v:g}" for k, v in (b.get("seconds") or {}).items())
        con.print(f"time: {b.get('total_seconds')} s ({stages}); peak memory {b.get('peak_rss_mb')} MB")


def _table(results: list[Result], mode: str) -> None:
    from rich.table import Table

    t = Table(title=f"pokecard recognize ({mode})")
    for col in ("file", "status", "card", "score", "margin", "ms"):
        t.add_column(col)
    for r in results:
        c = r.card
        card = f"{c.name} ({c.set_code} {c.number})" if c else (r.error or "")
        t.add_row(
            r.file,
            r.status,
            card,
            "" if r.score is None else f"{r.score:g}",
            "" if r.margin is None else f"{r.margin:g}",
            f"{r.timings_ms['total']:.0f}",
        )
    console().print(t)
