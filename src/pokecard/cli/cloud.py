"""`pokecard sagemaker train`, `pokecard jobs`, `pokecard verify`, `pokecard migrate`,
`pokecard restore`, `pokecard costs`, `pokecard registry ...`: cloud chores as commands."""

from __future__ import annotations

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, json_mode

sagemaker_app = typer.Typer(
    help="SageMaker training jobs (sagemaker SDK v3 ModelTrainer).", no_args_is_help=True
)


@sagemaker_app.command("train")
def sagemaker_train(
    stage: str = typer.Option("all", "--stage", help="teacher | distill | all"),
    preset: str = typer.Option("full", "--preset", help="Training preset the job runs (demo | full | ...)."),
    instance_type: str = typer.Option(
        "ml.g5.2xlarge", "--instance-type", help="SageMaker training instance."
    ),
    spot: bool = typer.Option(True, "--spot/--no-spot", help="Managed spot with checkpoints in the layout."),
    max_runtime_h: float = typer.Option(8.0, "--max-runtime-h", help="Stop the job after this many hours."),
    version: str = typer.Option("v1", "--version", help="Model version in the layout."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the job request as JSON; upload nothing."),
    wait: bool = typer.Option(False, "--wait", help="Follow the job until it ends."),
    as_json: bool = JSON_OPT,
) -> None:
    """Launch a training job running this package's training stages."""
    from pokecard.aws import sagemaker

    json_mode(as_json)
    secs = int(max_runtime_h * 3600)
    spec = sagemaker.TrainSpec(
        stage=stage,
        preset=preset,
        instance_type=instance_type,
        spot=spot,
        max_runtime_s=secs,
        max_wait_s=max(2 * secs, sagemaker.TrainSpec.max_wait_s),
        version=version,
    )
    if dry_run:
        emit_json(sagemaker.dry_run(spec))
        return
    d = sagemaker.launch(spec)
    name = d["TrainingJobName"]
    if wait:

        def show(job: dict) -> None:
            if not as_json:
                console().print(f"{name}: {job['TrainingJobStatus']} / {job.get('SecondaryStatus', '')}")

        d = sagemaker.wait(name, on_status=show)
    if as_json:
        emit_json(d)
        return
    c = console()
    c.print(f"training job {name}: {d['TrainingJobStatus']}")
    c.print(
        f"artifacts: {d.get('ModelArtifacts', {}).get('S3ModelArtifacts') or d['OutputDataConfig']['S3OutputPath']}"
    )
    if d["TrainingJobStatus"] == "Failed":
        c.print(f"failure: {d.get('FailureReason', '?')}")
        raise typer.Exit(1)


def jobs_cmd(
    root: str = ROOT_OPT,
    limit: int = typer.Option(100, "--limit", help="At most this many jobs, newest first."),
    all_jobs: bool = typer.Option(False, "--all", help="Every job, not only pokecard-* jobs."),
    as_json: bool = JSON_OPT,
) -> None:
    """Training job history with cost and spot saving; writes analytics/metrics/cost_breakdown.csv."""
    from pokecard.aws import jobs, prices

    json_mode(as_json)
    rows = jobs.history(name_contains=None if all_jobs else "pokecard", limit=limit)
    where = jobs.write_breakdown(rows, root)
    if as_json:
        emit_json({"jobs": [r.as_dict() for r in rows], "total_usd": jobs.total(rows), "csv": where})
        return
    from rich.table import Table

    t = Table(title=f"SageMaker training jobs (prices of {prices.table()['date']})")
    for col in (
        "name",
        "stage",
        "date",
        "instance",
        "status",
        "training h",
        "billable h",
        "cost $",
        "spot saving $",
    ):
        t.add_column(col, justify="right" if col[-1] in "h$" else "left")
    for r in rows:
        t.add_row(
            r.name,
            r.stage,
            r.date,
            r.instance,
            r.status,
            f"{r.training_s / 3600:.2f}",
            f"{r.billable_s / 3600:.2f}",
            "?" if r.cost_usd is None else f"{r.cost_usd:.2f}",
            "?" if r.spot_saving_usd is None else f"{r.spot_saving_usd:.2f}",
        )
    c = console()
    c.print(t)
    c.print(f"total: ${jobs.total(rows):.2f}   written: {where}")


def bench_ops_cmd(
    quick: bool = typer.Option(False, "--quick", help="1,000 objects to migrate and 4,000 to verify."),
    workers: int = typer.Option(16, "--workers", help="Concurrency of both tools."),
) -> None:
    """Migrate vs `aws s3 sync`, and verify fast/--deep, on a local moto server."""
    from pathlib import Path

    from pokecard.bench import machine, ops, update_doc_section, write_report

    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").is_file() else "?"
    r = ops.run(1000 if quick else 5000, 4000 if quick else 20000, workers)
    write_report("ops", r)
    md = ops.markdown(r, machine(), load)
    update_doc_section("ops", md)
    console().print(md, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sagemaker_app, name="sagemaker")
    app.command("jobs")(jobs_cmd)
    from pokecard.cli import ops
    from pokecard.cli.common import group

    ops.register(app)
    group(app, "bench", "Benchmarks").command("ops")(bench_ops_cmd)
