"""SageMaker training jobs with the SDK's v3 API (``sagemaker.train.ModelTrainer``).

The job runs this package's own training stages: the source dir is a staged copy of the
checkout (pyproject + src + scripts/sagemaker_train.py), installed in the job. Inputs come
from the layout's data prefixes, outputs go to its model prefixes, the role/bucket/prefix
from the Terraform outputs. :func:`build_request` is the CreateTrainingJob request as JSON,
made without the SDK (``ModelTrainer.train(dry_run=True)`` still uploads the code), and
:func:`launch` sends the same request through ModelTrainer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pokecard import layout
from pokecard.aws import prices
from pokecard.aws.clients import CloudError, aws_errors, client
from pokecard.config import Settings, load_settings
from pokecard.errors import ConfigError

# --stage -> the pipeline's stages (pokecard.train.STAGES) the job runs.
STAGE_PLAN = {
    "teacher": ["catalog", "teacher"],
    "distill": ["catalog", "gallery", "student", "evaluate", "export", "reference"],
    "all": ["catalog", "teacher", "gallery", "student", "evaluate", "export", "reference"],
}
DEFAULT_INSTANCE = "ml.g5.2xlarge"
# The PyTorch training container of the region (torch is preinstalled; the job pip-installs the rest).
IMAGE_ACCOUNT = "763104351884"
IMAGE_TAG = "2.5-gpu-py311"
CODE_PREFIX = "pipelines/training/sagemaker"
CHECKPOINT_LOCAL = "/opt/ml/checkpoints"
ENTRY = "scripts/sagemaker_train.py"


@dataclass
class TrainSpec:
    stage: str = "all"
    preset: str = "full"
    instance_type: str = DEFAULT_INSTANCE
    spot: bool = True
    max_runtime_s: int = 8 * 3600
    max_wait_s: int = 16 * 3600  # spot waits for capacity on top of the runtime
    volume_gb: int = 100
    version: str = "v1"
    image_uri: str | None = None
    job_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if self.stage not in STAGE_PLAN:
            raise ConfigError(f"--stage {self.stage!r}: use one of {', '.join(STAGE_PLAN)}")
        prices.check_instance_type(self.instance_type)
        layout.teacher_dir(self.version)  # validates the version
        if self.max_runtime_s <= 0:
            raise ConfigError(f"max runtime {self.max_runtime_s} s must be positive")
        if self.spot and self.max_wait_s < self.max_runtime_s:
            raise ConfigError(
                f"max wait {self.max_wait_s} s is below the max runtime {self.max_runtime_s} s; "
                "SageMaker requires max wait >= max runtime for spot jobs"
            )


def image_uri(region: str) -> str:
    return f"{IMAGE_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/pytorch-training:{IMAGE_TAG}"


def _s3(settings: Settings, key: str) -> str:
    return f"{settings.s3_root}{layout.validate_key(key)}/"


def _role(settings: Settings) -> str:
    if not settings.role_arn:
        raise ConfigError(
            "no SageMaker execution role: run `make infra` (it writes role_arn to infra/outputs/<env>.json) "
            "or set POKECARD_INFRA_OUTPUTS to the outputs file"
        )
    return settings.role_arn


def job_name(spec: TrainSpec, now: dt.datetime | None = None) -> str:
    if spec.job_name:
        return spec.job_name
    t = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"pokecard-{spec.stage}-{t}"


def command(spec: TrainSpec) -> str:
    """What the job runs: install this package from the source dir, then the thin entry script."""
    return (
        "python -m pip install -q '.[train]' && "
        f"python {ENTRY} --stage {spec.stage} --preset {spec.preset} --version {spec.version}"
    )


def tags(spec: TrainSpec) -> dict[str, str]:
    return {
        "Project": "pokemon-card-recognition",
        "pokecard:stage": spec.stage,
        "pokecard:preset": spec.preset,
        "pokecard:version": spec.version,
        **spec.tags,
    }


def environment(spec: TrainSpec, settings: Settings) -> dict[str, str]:
    return {
        "POKECARD_S3_ROOT": settings.s3_root,
        "POKECARD_STAGES": ",".join(STAGE_PLAN[spec.stage]),
        "AWS_REGION": settings.region,
    }


def channels(spec: TrainSpec, settings: Settings) -> dict[str, str]:
    """Input channel -> S3 prefix: the catalogue always, the trained models for distillation."""
    ch = {"catalog": _s3(settings, layout.RAW_IMAGES)}
    if spec.stage == "distill":
        ch["teacher"] = _s3(settings, layout.TEACHER_DIR)
    return ch


def build_request(spec: TrainSpec, settings: Settings | None = None) -> dict[str, Any]:
    """The CreateTrainingJob request (boto3 shape) the job will be created with; nothing is uploaded."""
    s = settings or load_settings()
    spec.check()
    name = job_name(spec)
    code_uri = f"{s.s3_root}{CODE_PREFIX}/pokecard-{spec.stage}/{name}/input"
    inputs = [
        {
            "ChannelName": ch,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        for ch, uri in channels(spec, s).items()
    ]
    for ch in ("code", "sm_drivers"):
        inputs.append(
            {
                "ChannelName": ch,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"{code_uri}/{ch}",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        )
    req: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": _role(s),
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_uri or image_uri(s.region),
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash"],
            "ContainerArguments": ["/opt/ml/input/data/sm_drivers/sm_train.sh"],
        },
        "InputDataConfig": inputs,
        "OutputDataConfig": {"S3OutputPath": _s3(s, layout.SAGEMAKER_OUTPUT), "CompressionType": "GZIP"},
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": spec.volume_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_s},
        "EnableManagedSpotTraining": spec.spot,
        "Environment": environment(spec, s),
        "Tags": [{"Key": k, "Value": v} for k, v in tags(spec).items()],
    }
    if spec.spot:
        req["StoppingCondition"]["MaxWaitTimeInSeconds"] = spec.max_wait_s
        req["CheckpointConfig"] = {
            "S3Uri": _s3(s, layout.training_checkpoints(spec.stage)),
            "LocalPath": CHECKPOINT_LOCAL,
        }
    return req


def dry_run(spec: TrainSpec, settings: Settings | None = None) -> dict[str, Any]:
    """What ``--dry-run`` prints: the request, and what would be uploaded where (nothing is)."""
    req = build_request(spec, settings)
    code = next(c for c in req["InputDataConfig"] if c["ChannelName"] == "code")
    return {
        "request": req,
        "source_code": {
            "uploads_to": code["DataSource"]["S3DataSource"]["S3Uri"],
            "command": command(spec),
            "stages": STAGE_PLAN[spec.stage],
        },
        "uploaded": False,
    }


def stage_source(dest: Path, repo: Path | None = None) -> Path:
    """Copy what the job installs (pyproject, README, src/pokecard, the entry script) into ``dest``."""
    repo = repo or Path(__file__).resolve().parents[3]
    if not (repo / "pyproject.toml").is_file() or not (repo / ENTRY).is_file():
        raise ConfigError(
            f"{repo}: not a pokecard source checkout (needs pyproject.toml and {ENTRY}); "
            "launch SageMaker jobs from a clone of the repository"
        )
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in ("pyproject.toml", "README.md"):
        if (repo / name).is_file():
            shutil.copy2(repo / name, dest / name)
    shutil.copytree(repo / "src" / "pokecard", dest / "src" / "pokecard", ignore=ignore)
    (dest / "scripts").mkdir(exist_ok=True)
    shutil.copy2(repo / ENTRY, dest / ENTRY)
    return dest


@contextlib.contextmanager
def _emulator_env(settings: Settings) -> Iterator[None]:
    """The SDK builds its own clients from the environment: point them at the endpoint, and skip the
    role check on an emulator (moto lacks iam:SimulatePrincipalPolicy)."""
    saved = {
        k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "SAGEMAKER_VALIDATE_ROLE", "AWS_DEFAULT_REGION")
    }
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
    if settings.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = settings.endpoint_url
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def launch(spec: TrainSpec, settings: Settings | None = None) -> dict[str, Any]:
    """Create the job through ModelTrainer (uploads the staged code, then CreateTrainingJob);
    returns DescribeTrainingJob of the created job."""
    s = settings or load_settings()
    req = build_request(spec, s)
    with (
        _emulator_env(s),
        tempfile.TemporaryDirectory(prefix="pokecard-sm-") as tmp,
        aws_errors(f"SageMaker training job {req['TrainingJobName']}", s.endpoint_url),
    ):
        import logging

        import boto3
        from sagemaker.core.helper.session_helper import Session
        from sagemaker.core.training.configs import (
            CheckpointConfig,
            Compute,
            InputData,
            OutputDataConfig,
            SourceCode,
            StoppingCondition,
        )
        from sagemaker.train import ModelTrainer

        for name in ("sagemaker", "sagemaker.core", "sagemaker.train"):
            logging.getLogger(name).setLevel(logging.WARNING)  # the SDK logs its config search at INFO
        src = stage_source(Path(tmp))
        boto_session = boto3.Session(region_name=s.region)
        session = Session(
            boto_session=boto_session,
            sagemaker_client=client("sagemaker", s),
            default_bucket=s.bucket,
            default_bucket_prefix=f"{s.prefix.strip('/')}/{CODE_PREFIX}",
        )
        stop = req["StoppingCondition"]
        trainer = ModelTrainer(
            sagemaker_session=session,
            role=req["RoleArn"],
            base_job_name=f"pokecard-{spec.stage}",
            training_image=req["AlgorithmSpecification"]["TrainingImage"],
            source_code=SourceCode(source_dir=str(src), command=command(spec)),
            compute=Compute(
                instance_type=spec.instance_type,
                instance_count=1,
                volume_size_in_gb=spec.volume_gb,
                enable_managed_spot_training=spec.spot,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=stop["MaxRuntimeInSeconds"],
                max_wait_time_in_seconds=stop.get("MaxWaitTimeInSeconds"),
            ),
            output_data_config=OutputDataConfig(s3_output_path=req["OutputDataConfig"]["S3OutputPath"]),
            checkpoint_config=(
                CheckpointConfig(s3_uri=req["CheckpointConfig"]["S3Uri"], local_path=CHECKPOINT_LOCAL)
                if spec.spot
                else None
            ),
            environment=req["Environment"],
            tags=[{"key": k, "value": v} for k, v in tags(spec).items()],
        )
        trainer.train(
            input_data_config=[
                InputData(channel_name=c, data_source=u) for c, u in channels(spec, s).items()
            ],
            wait=False,
            logs=False,
        )
        name = trainer._latest_training_job.training_job_name
        return describe(name, s)


def describe(name: str, settings: Settings | None = None) -> dict[str, Any]:
    s = settings or load_settings()
    with aws_errors(f"SageMaker training job {name}", s.endpoint_url):
        d = client("sagemaker", s).describe_training_job(TrainingJobName=name)
    d.pop("ResponseMetadata", None)
    return d


TERMINAL = ("Completed", "Failed", "Stopped")


def wait(
    name: str,
    settings: Settings | None = None,
    *,
    poll_s: float = 30.0,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Poll until the job ends; ``on_status`` sees each describe (the CLI prints a progress line)."""
    start = time.monotonic()
    while True:
        d = describe(name, settings)
        if on_status:
            on_status(d)
        if d["TrainingJobStatus"] in TERMINAL:
            return d
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise CloudError(f"training job {name} still {d['TrainingJobStatus']} after {timeout_s:.0f} s")
        time.sleep(poll_s)
