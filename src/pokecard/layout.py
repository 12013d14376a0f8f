"""The storage layout: the one place that spells a key.

Keys are POSIX paths relative to the project root, which is either a local folder or
``s3://<bucket>/project/pokemon-card-recognition/``. Everything else in the code asks this
module for a key; nothing else spells a path inside the root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pokecard.errors import LayoutError

# Top-level folders of the layout. Writes outside these are refused (unless forced) so
# the production bucket stays organized.
TOP_LEVEL = ("metadata", "models", "data", "experiments", "profiling", "analytics", "pipelines")

PROJECT_MANIFEST = "metadata/project_manifest.json"

# Models
TEACHER_DIR = "models/dinov3-teacher"
STUDENT_DIR = "models/efficientnet-student/stage2"
HAILO_DIR = "models/efficientnet-hailo"
CALIBRATION_DIR = "models/efficientnet-hailo/calibration"

TEACHER_ARCHIVE = "model.tar.gz"
STUDENT_CHECKPOINT = "student_stage2_final.pt"
STUDENT_ONNX = "student_stage2_final.onnx"
HAILO_HEF = "pokemon_student_efficientnet_lite0_stage2.hef"
MODEL_CARD = "model_card.json"

# Data
RAW_IMAGES = "data/raw/card_images"
CATALOG_METADATA = "data/raw/card_images/metadata.json"
PROCESSED = "data/processed/classification"
PROCESSED_INDEX = "data/processed/classification/index.json"
EVAL_PHOTOS = "data/processed/eval_photos"
REFERENCE = "data/reference"
REFERENCE_EMBEDDINGS = "data/reference/embeddings.npy"
REFERENCE_USEARCH = "data/reference/usearch.index"
REFERENCE_INDEX = "data/reference/index.json"
REFERENCE_METADATA = "data/reference/metadata.json"
REFERENCE_MANIFEST = "data/reference/manifest.json"
REFERENCE_KEYPOINTS = "data/reference/keypoints.npz"
# The collector's collection (issue 16): one SQLite database, local roots only
COLLECTION_DB = "data/collection/collection.sqlite"

# Experiments, analytics, pipelines
MLFLOW_DIR = "experiments/mlflow"
MLFLOW_INDEX = "experiments/mlflow/experiments_index.json"
DASHBOARD_CONFIG = "analytics/dashboards/dashboard_config.json"
METRICS_DIR = "analytics/metrics"
MODEL_PERFORMANCE = "analytics/metrics/model_performance.csv"
COMPRESSION_METRICS = "analytics/metrics/compression_metrics.csv"
COST_BREAKDOWN = "analytics/metrics/cost_breakdown.csv"
MODEL_LINEAGE = "analytics/metrics/model_lineage.json"
STORAGE_METRICS = "analytics/metrics/storage_metrics.csv"
METRICS_SUMMARY = "analytics/metrics/summary.json"
PIPELINE_KINDS = ("training", "inference", "deployment")

# Training (issue 4): stage outputs beside the model cards, run records under pipelines/training
TEACHER_CHECKPOINT = "teacher_final.pt"
TEACHER_GALLERY = "teacher_gallery.npy"
RESUME_CHECKPOINT = "last_epoch.pt"
EVAL_REPORT = "evaluation.json"
MLFLOW_DB = "experiments/mlflow/mlflow.db"
MLFLOW_ARTIFACTS = "experiments/mlflow/artifacts"

_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _version(version: str) -> str:
    if not _VERSION_RE.match(version):
        raise LayoutError(
            f"model version {version!r} is not valid: use letters, digits, '.', '_' or '-' (e.g. v1 or 2026-11-27)"
        )
    return version


def teacher_dir(version: str) -> str:
    return f"{TEACHER_DIR}/{_version(version)}"


def teacher_archive(version: str) -> str:
    return f"{teacher_dir(version)}/{TEACHER_ARCHIVE}"


def student_dir(version: str) -> str:
    return f"{STUDENT_DIR}/{_version(version)}"


def student_checkpoint(version: str) -> str:
    return f"{student_dir(version)}/{STUDENT_CHECKPOINT}"


def student_onnx(version: str) -> str:
    return f"{student_dir(version)}/{STUDENT_ONNX}"


def hailo_dir(version: str) -> str:
    return f"{HAILO_DIR}/{_version(version)}"


def hailo_hef(version: str) -> str:
    return f"{hailo_dir(version)}/{HAILO_HEF}"


def model_card(model_dir: str) -> str:
    """The model card JSON that sits beside every checkpoint in ``model_dir``."""
    return f"{validate_key(model_dir)}/{MODEL_CARD}"


def profiling_dir(model: str, date: str) -> str:
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", date):
        raise LayoutError(f"profiling date {date!r} must be YYYY-MM-DD")
    return f"profiling/{_version(model)}/{date}"


def teacher_checkpoint(version: str) -> str:
    return f"{teacher_dir(version)}/{TEACHER_CHECKPOINT}"


def teacher_gallery(version: str) -> str:
    return f"{teacher_dir(version)}/{TEACHER_GALLERY}"


def training_stamp(version: str, stage: str) -> str:
    """The record of one training stage's last run (inputs hash -> outputs), for skipping reruns."""
    return f"{pipeline_dir('training')}/{_version(version)}/{_version(stage)}.json"


def eval_photos_dir(name: str) -> str:
    """One held-out set of simulated photos (+ labels.json), e.g. eval-scene-seed0."""
    return f"{EVAL_PHOTOS}/{_version(name)}"


def pipeline_dir(kind: str) -> str:
    if kind not in PIPELINE_KINDS:
        raise LayoutError(f"pipeline kind {kind!r} is not one of {', '.join(PIPELINE_KINDS)}")
    return f"pipelines/{kind}"


def validate_key(key: str) -> str:
    """Normalize a key and check it is a safe relative POSIX path (no '..', no absolute)."""
    if not isinstance(key, str) or not key.strip():
        raise LayoutError("empty key: name a path inside the project root, e.g. data/reference/index.json")
    k = key.replace("\\", "/").rstrip("/")
    if k.startswith("/"):
        raise LayoutError(
            f"key {key!r} is absolute: keys are relative to the project root, e.g. data/reference"
        )
    parts = k.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise LayoutError(f"key {key!r} is not a clean relative path (no '..', '.', or empty parts)")
    return k


def in_layout(key: str) -> bool:
    k = validate_key(key)
    return k.split("/", 1)[0] in TOP_LEVEL


def check_writable(key: str, force: bool = False) -> str:
    """Refuse writes outside the layout's top-level folders unless ``force``."""
    k = validate_key(key)
    if not force and not in_layout(k):
        raise LayoutError(
            f"refusing to write {k!r}: it is outside the project layout "
            f"(top-level folders: {', '.join(TOP_LEVEL)}). Use --force to write it anyway."
        )
    return k


@dataclass(frozen=True)
class Entry:
    key: str
    description: str


def describe() -> list[Entry]:
    """The layout as (key, description) rows, for `pokecard layout`."""
    v = "<version>"
    return [
        Entry(PROJECT_MANIFEST, "project metadata, versions, sha256 of every object"),
        Entry(f"{TEACHER_DIR}/{v}/{TEACHER_ARCHIVE}", "DINOv3 ViT-B teacher (+ model_card.json)"),
        Entry(
            f"{STUDENT_DIR}/{v}/{STUDENT_CHECKPOINT}",
            "EfficientNet-Lite0 student checkpoint (+ model_card.json)",
        ),
        Entry(f"{STUDENT_DIR}/{v}/{STUDENT_ONNX}", "student exported to ONNX"),
        Entry(f"{HAILO_DIR}/{v}/{HAILO_HEF}", "student compiled for Hailo-8/8L"),
        Entry(f"{CALIBRATION_DIR}/", "Hailo calibration set (1,024 images)"),
        Entry(f"{RAW_IMAGES}/", "original scans + catalogue metadata.json"),
        Entry(f"{PROCESSED}/", "canonical card crops used for training"),
        Entry(f"{EVAL_PHOTOS}/", "held-out simulated photos (seeds never used in training)"),
        Entry(f"{REFERENCE}/", "embeddings.npy usearch.index index.json metadata.json manifest.json"),
        Entry(COLLECTION_DB, "the collection (SQLite, WAL): cards, scans, corrections"),
        Entry(MLFLOW_INDEX, "experiment index (MLflow file store beside it)"),
        Entry("profiling/<model>/<date>/", "PyTorch profiler traces"),
        Entry(DASHBOARD_CONFIG, "analytics dashboard config"),
        Entry(
            f"{METRICS_DIR}/",
            "model_performance.csv compression_metrics.csv cost_breakdown.csv "
            "model_lineage.json storage_metrics.csv summary.json",
        ),
        Entry("pipelines/{training,inference,deployment}/", "pipeline definitions and run records"),
    ]


# Cloud operations (issue 14): SageMaker job outputs and spot checkpoints, migration state
SAGEMAKER_OUTPUT = "models/sagemaker-jobs"
CHECKPOINTS_DIR = "models/checkpoints"


def training_checkpoints(stage: str) -> str:
    """Where a SageMaker job of ``stage`` syncs /opt/ml/checkpoints (a spot restart resumes from it)."""
    return f"{CHECKPOINTS_DIR}/{_version(stage)}"


def component(key: str) -> str:
    """The layout component a key belongs to (its first two folders, e.g. data/raw), for per-component counts."""
    parts = validate_key(key).split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
