"""`pokecard sagemaker train` and `pokecard jobs` against the Terraform footprint on moto."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


def test_dry_run_request_field_by_field(tf_env) -> None:  # noqa: ANN001
    o = tf_env.outputs
    code, out, err = run_cli("sagemaker", "train", "--dry-run", "--stage", "teacher", "--preset", "demo")
    assert code == 0, err
    doc = json.loads(out)
    req = doc["request"]
    root = f"s3://{o['bucket']}/{o['prefix']}"
    assert req["RoleArn"] == o["role_arn"]
    assert req["AlgorithmSpecification"]["TrainingImage"] == (
        "763104351884.dkr.ecr.us-east-2.amazonaws.com/pytorch-training:2.5-gpu-py311"
    )
    assert req["ResourceConfig"] == {
        "InstanceType": "ml.g5.2xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 100,
    }
    assert req["EnableManagedSpotTraining"] is True
    assert req["StoppingCondition"]["MaxWaitTimeInSeconds"] >= req["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert req["CheckpointConfig"] == {
        "S3Uri": f"{root}models/checkpoints/teacher/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert req["OutputDataConfig"] == {
        "S3OutputPath": f"{root}models/sagemaker-jobs/",
        "CompressionType": "GZIP",
    }
    chans = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in req["InputDataConfig"]}
    assert chans["catalog"] == f"{root}data/raw/card_images/"
    assert chans["code"].startswith(f"{root}pipelines/training/sagemaker/")
    tags = {t["Key"]: t["Value"] for t in req["Tags"]}
    assert tags["pokecard:stage"] == "teacher" and tags["Project"] == "pokemon-card-recognition"
    assert doc["source_code"]["stages"] == ["catalog", "teacher"] and doc["uploaded"] is False
    assert "--preset demo" in doc["source_code"]["command"]
    # Nothing was uploaded: the code prefix is still empty.
    s3 = tf_env.client("s3")
    assert s3.list_objects_v2(Bucket=o["bucket"], Prefix=f"{o['prefix']}pipelines/").get("KeyCount", 0) == 0
    # The request is valid for the API: boto3's own validation of CreateTrainingJob accepts it.
    sm = tf_env.client("sagemaker")
    sm.meta.events.register("before-call.sagemaker.CreateTrainingJob", _stop)
    with pytest.raises(_Stopped):
        sm.create_training_job(**req)


class _Stopped(Exception):
    pass


def _stop(**_: object) -> None:
    raise _Stopped  # parameters validated, nothing sent


def test_no_spot_has_no_checkpoints_and_distill_reads_teacher(tf_env) -> None:  # noqa: ANN001
    code, out, _ = run_cli("sagemaker", "train", "--dry-run", "--stage", "distill", "--no-spot")
    req = json.loads(out)["request"]
    assert code == 0 and req["EnableManagedSpotTraining"] is False and "CheckpointConfig" not in req
    chans = {c["ChannelName"] for c in req["InputDataConfig"]}
    assert {"catalog", "teacher"} <= chans


def test_job_created_on_moto_and_shown_in_jobs(tf_env, tmp_path) -> None:  # noqa: ANN001
    from pokecard.aws import sagemaker

    spec = sagemaker.TrainSpec(stage="teacher", preset="demo")
    want = sagemaker.build_request(spec)
    d = sagemaker.launch(spec)
    name = d["TrainingJobName"]
    assert name.startswith("pokecard-teacher-")
    # What the API holds is what --dry-run printed.
    for k in ("RoleArn", "OutputDataConfig", "ResourceConfig", "EnableManagedSpotTraining"):
        assert d[k] == want[k], k
    assert d["AlgorithmSpecification"]["TrainingImage"] == want["AlgorithmSpecification"]["TrainingImage"]
    assert d["CheckpointConfig"]["S3Uri"] == want["CheckpointConfig"]["S3Uri"]
    assert d["StoppingCondition"] == want["StoppingCondition"]
    # The SDK uploaded the staged package under the layout's training prefix.
    o = tf_env.outputs
    keys = [
        x["Key"]
        for x in tf_env.client("s3").list_objects_v2(
            Bucket=o["bucket"], Prefix=f"{o['prefix']}pipelines/training/sagemaker/"
        )["Contents"]
    ]
    assert any(k.endswith("scripts/sagemaker_train.py") for k in keys)
    assert any(k.endswith("src/pokecard/aws/sagemaker_entry.py") for k in keys)

    code, out, err = run_cli("jobs", "--json", "--root", str(tmp_path / "root"))
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)["jobs"]}
    r = rows[name]
    assert r["stage"] == "teacher" and r["instance"] == "ml.g5.2xlarge" and r["price_per_hour"] == 1.52
    assert r["status"] == "Completed" and r["cost_usd"] is not None  # moto: 0 s, so $0.00
    csv = (tmp_path / "root" / "analytics/metrics/cost_breakdown.csv").read_text()
    assert name in csv and csv.startswith("name,stage,date,instance")


def _describe(name: str, hours: float, billable: float | None = None, spot: bool = False) -> dict:
    t0 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    return {
        "TrainingJobName": name,
        "CreationTime": t0,
        "TrainingStartTime": t0,
        "TrainingEndTime": t0 + dt.timedelta(hours=hours),
        "TrainingTimeInSeconds": int(hours * 3600),
        "BillableTimeInSeconds": int((billable if billable is not None else hours) * 3600),
        "ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1},
        "TrainingJobStatus": "Completed",
        "EnableManagedSpotTraining": spot,
    }


def test_team_cost_table_is_11_40() -> None:
    """The team's hand-kept table: teacher 3.5 h, two student stages 2 h each, ml.g5.2xlarge."""
    from pokecard.aws import jobs

    rows = [
        jobs.row(_describe("teacher", 3.5), "teacher"),
        jobs.row(_describe("student1", 2), "distill"),
        jobs.row(_describe("student2", 2), "distill"),
    ]
    assert [r.cost_usd for r in rows] == [5.32, 3.04, 3.04]
    assert jobs.total(rows) == 11.40
    spot = jobs.row(_describe("spot", 2, billable=0.6, spot=True))
    assert spot.cost_usd == round(0.6 * 1.52, 2) and spot.spot_saving_usd == round(1.4 * 1.52, 2)


def test_bad_instance_type_is_one_line(tf_env) -> None:  # noqa: ANN001
    code, out, err = run_cli("sagemaker", "train", "--dry-run", "--instance-type", "ml.g9.huge")
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "ml.g9.huge" in err and "Traceback" not in err


def test_sagemaker_api_error_is_one_line(tf_env) -> None:  # noqa: ANN001
    from pokecard.aws import sagemaker
    from pokecard.aws.clients import CloudError

    # moto accepts any instance type, so the API error here is a job that does not exist.
    with pytest.raises(CloudError, match="no-such-job") as e:
        sagemaker.describe("no-such-job")
    assert "\n" not in str(e.value)


def test_missing_role_and_endpoint_down(aws_env, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "o.json"
    out.write_text(
        json.dumps(
            {"bucket": "b", "prefix": "p/", "region": "us-east-2", "endpoint_url": "http://127.0.0.1:9"}
        )
    )
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(out))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    code, _, err = run_cli("sagemaker", "train", "--dry-run")
    assert code != 0 and "role" in err and "make infra" in err
    code, _, err = run_cli("jobs")
    assert code != 0 and "cannot reach http://127.0.0.1:9" in err and "Traceback" not in err


def test_credentials_missing(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "o.json"
    out.write_text(json.dumps({"region": "us-east-2"}))
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(out))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run_cli("jobs")
    assert code != 0 and "no AWS credentials" in err


def test_entry_plan_maps_stage_and_channels() -> None:
    from pokecard.aws.sagemaker_entry import plan

    env = {
        "POKECARD_S3_ROOT": "s3://b/p/",
        "SM_CHANNEL_CATALOG": "/in/catalog",
        "SM_CHANNEL_TEACHER": "/in/teacher",
    }
    p = plan(["--stage", "distill", "--preset", "demo"], env)
    assert p["stages"][0] == "catalog" and "teacher" not in p["stages"] and "student" in p["stages"]
    assert p["local_root"] == "/opt/ml/checkpoints/root" and p["teacher"] == "/in/teacher"
    with pytest.raises(SystemExit, match="POKECARD_S3_ROOT"):
        plan(["--stage", "teacher"], {})
