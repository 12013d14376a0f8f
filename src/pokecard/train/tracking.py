"""Experiment tracking (MLflow) and the analytics files of the layout.

MLflow 3.x refuses its plain file store unless MLFLOW_ALLOW_FILE_STORE is set (the store
is in maintenance mode), so the embedded default is MLflow's SQLite backend - still one
local file - at ``layout.MLFLOW_DB`` with artifacts under ``layout.MLFLOW_ARTIFACTS``.
``MLFLOW_TRACKING_URI`` (or the ``mlflow_tracking_uri`` setting) overrides it. An S3 root
without a tracking URI is tracked nowhere (a warning says so); the analytics CSVs are
written in every case.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from pathlib import Path
from typing import Any

from pokecard import layout
from pokecard.config import load_settings
from pokecard.store import LocalStore, Store

log = logging.getLogger(__name__)
EXPERIMENT = "pokecard-training"


class Tracker:
    """No-op base: used when tracking is off or unavailable."""

    run_id: str | None = None
    uri: str | None = None

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def end(self, status: str = "FINISHED") -> None: ...


class MlflowTracker(Tracker):
    def __init__(self, uri: str, artifact_location: str | None, run_name: str, tags: dict[str, str]) -> None:
        import mlflow

        self._mlflow = mlflow
        self.uri = uri
        mlflow.set_tracking_uri(uri)
        client = mlflow.tracking.MlflowClient(uri)
        exp = client.get_experiment_by_name(EXPERIMENT)
        exp_id = (
            exp.experiment_id
            if exp
            else client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
        )
        self._client = client
        self._run = client.create_run(exp_id, run_name=run_name, tags=tags)
        self.run_id = self._run.info.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        for k, v in _flatten(params).items():
            self._client.log_param(self.run_id, k, str(v)[:500])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                # MLflow names allow [\w-. :/]; "student->teacher" becomes "student_to_teacher"
                name = re.sub(r"[^\w\-. :/]", "_", k.replace("->", "_to_"))
                self._client.log_metric(self.run_id, name, float(v), step=step or 0)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        self._client.set_terminated(self.run_id, status)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def open_tracker(store: Store, enabled: bool, run_name: str, tags: dict[str, str]) -> Tracker:
    """MLflow on the root's SQLite file (or MLFLOW_TRACKING_URI); a no-op tracker when off."""
    if not enabled:
        return Tracker()
    uri = load_settings().mlflow_tracking_uri
    artifacts: str | None = None
    if not uri:
        if not isinstance(store, LocalStore):
            log.warning(
                "no MLFLOW_TRACKING_URI for the S3 root %s: this run is not tracked in MLflow", store.url
            )
            return Tracker()
        db = store.path(layout.MLFLOW_DB)
        db.parent.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{db}"
        artifacts = store.path(layout.MLFLOW_ARTIFACTS).as_uri()
    try:
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return MlflowTracker(uri, artifacts, run_name, tags)
    except Exception as e:  # tracking must never lose a training run
        log.warning(
            "MLflow tracking at %s is unavailable (%s); continuing without it", uri, str(e).splitlines()[0]
        )
        return Tracker()


def record_run_index(store: Store, tracker: Tracker, entry: dict[str, Any]) -> None:
    """Append this run to ``experiments/mlflow/experiments_index.json`` (what ran, where tracked)."""
    doc = store.get_json(layout.MLFLOW_INDEX) if store.exists(layout.MLFLOW_INDEX) else {}
    doc.setdefault("experiment", EXPERIMENT)
    doc["tracking_uri"] = tracker.uri
    runs = doc.setdefault("runs", [])
    runs.append({"run_id": tracker.run_id, "recorded": _now(), **entry})
    store.put_json(layout.MLFLOW_INDEX, doc)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def append_csv(store: Store, key: str, rows: list[dict[str, Any]]) -> None:
    """Append rows to a CSV in the store (header from the union of columns, old rows kept)."""
    old: list[dict[str, Any]] = []
    if store.exists(key):
        text = store.get_bytes(key).decode()
        old = list(csv.DictReader(io.StringIO(text)))
    all_rows = old + rows
    cols: list[str] = []
    for r in all_rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in all_rows:
        w.writerow({c: r.get(c, "") for c in cols})
    store.put_bytes(key, buf.getvalue().encode())


def update_lineage(store: Store, version: str, node: str, info: dict[str, Any]) -> None:
    """``model_lineage.json``: catalogue -> teacher -> gallery -> student -> onnx -> reference."""
    doc = store.get_json(layout.MODEL_LINEAGE) if store.exists(layout.MODEL_LINEAGE) else {}
    v = doc.setdefault("versions", {}).setdefault(version, {})
    v[node] = {**info, "updated": _now()}
    store.put_json(layout.MODEL_LINEAGE, doc)
