"""`make infra` for real: apply envs/local to a moto server over HTTP, check every resource
with boto3, push to the bucket with `pokecard store push` using only the outputs file, and
see that a second plan has nothing to do.

One apply with the deny-non-TLS bucket policy on (to check the policy on the API), one apply
with `make infra`'s own settings (moto ignores policy conditions, so that Deny would refuse
the push; see infra/README.md), one re-plan. On moto each create of the bucket's lifecycle
configuration takes about a minute (the provider polls it): that is most of the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra_testlib import copy_infra, moto_client, require_terraform

from pokecard.aws import infra

pytestmark = pytest.mark.integration

BUCKET = "pokemon-card-training-us-east-2"
PREFIX = "project/pokemon-card-recognition/"


@dataclass
class Footprint:
    repo: Path
    env_dir: Path
    pid_file: Path
    outputs_path: Path
    url: str
    outputs: dict
    plugin_dir: Path

    def client(self, service: str):  # noqa: ANN201
        return moto_client(self.url, service)


@pytest.fixture(scope="module")
def footprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Footprint]:
    from pokecard.aws.emulator import free_port

    plugin_dir = require_terraform()
    repo = tmp_path_factory.mktemp("repo")
    root = copy_infra(repo)
    pid_file = repo / ".pokecard" / "moto.pid"
    outputs_path = repo / "infra" / "outputs" / "local.json"
    env_dir = root / "envs" / "local"
    ready = False
    try:
        result = infra.apply_local(
            repo,
            port=free_port(),
            pid_file=pid_file,
            outputs_path=outputs_path,
            plugin_dir=plugin_dir,
            extra_vars={"deny_insecure_transport": "true"},
        )
        assert result.endpoint_url and result.outputs_path == outputs_path
        ready = True
        yield Footprint(
            repo,
            env_dir,
            pid_file,
            outputs_path,
            result.endpoint_url,
            json.loads(outputs_path.read_text()),
            plugin_dir,
        )
    finally:
        stopped = infra.down(repo, pid_file=pid_file, env_dir=env_dir)
    if ready:
        assert stopped, "the emulator started by apply_local was not running at teardown"
        assert not (env_dir / "terraform.tfstate").exists(), "down() must drop the local state"


def test_outputs_file(footprint: Footprint) -> None:
    o = footprint.outputs
    assert o["bucket"] == BUCKET and o["prefix"] == PREFIX and o["region"] == "us-east-2"
    assert o["endpoint_url"] == footprint.url and footprint.url.startswith("http://127.0.0.1:")
    assert o["role_arn"] == "arn:aws:iam::123456789012:role/pokemon-card-recognition-sagemaker-execution"
    assert o["model_package_group"] == "pokemon-card-recognition-models"
    assert o["log_groups"] == {
        "training_jobs": "/aws/sagemaker/TrainingJobs",
        "endpoints": "/aws/sagemaker/Endpoints",
    }


def test_bucket(footprint: Footprint) -> None:
    from pokecard import layout

    s3 = footprint.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert pab == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    sse = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    profiling = rules["profiling-to-glacier"]
    # The rule's prefix is the layout's profiling folder under the project prefix.
    assert (
        profiling["Filter"]["Prefix"] == PREFIX + layout.profiling_dir("m", "2026-01-01").split("/")[0] + "/"
    )
    assert profiling["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"}]
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    abort = rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]
    assert abort["DaysAfterInitiation"] == 7
    assert all(r["Status"] == "Enabled" for r in rules.values())

    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (deny,) = [st for st in policy["Statement"] if st["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


def test_role(footprint: Footprint) -> None:
    iam = footprint.client("iam")
    role = iam.get_role(RoleName="pokemon-card-recognition-sagemaker-execution")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (st,) = trust["Statement"]
    assert st["Principal"] == {"Service": "sagemaker.amazonaws.com"} and st["Action"] == "sts:AssumeRole"
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}

    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []  # no inline policies
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["pokemon-card-recognition-sagemaker-execution-policy"]
    arn = attached[0]["PolicyArn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    by_sid = {s["Sid"]: s for s in doc["Statement"]}

    actions = [a for s in doc["Statement"] for a in s["Action"]]
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    star = sorted(a for s in doc["Statement"] if "*" in s["Resource"] for a in s["Action"])
    assert star == ["cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"]
    assert by_sid["ListProjectPrefixOnly"]["Condition"] == {"StringLike": {"s3:prefix": [PREFIX + "*"]}}
    assert by_sid["ProjectObjects"]["Resource"] == [f"arn:aws:s3:::{BUCKET}/{PREFIX}*"]
    assert "s3:DeleteObjectVersion" not in actions
    assert all(
        r.startswith("arn:aws:logs:us-east-2:123456789012:log-group:/aws/sagemaker/")
        for r in by_sid["SageMakerLogs"]["Resource"]
    )
    assert "cloudwatch:namespace" in by_sid["PublishMetricsInProjectNamespaces"]["Condition"]["StringLike"]
    registry_arns = by_sid["ModelRegistryGroup"]["Resource"] + by_sid["ModelRegistryPackages"]["Resource"]
    assert all("pokemon-card-recognition-models" in r for r in registry_arns)


def test_model_registry(footprint: Footprint) -> None:
    sm = footprint.client("sagemaker")
    g = sm.describe_model_package_group(ModelPackageGroupName="pokemon-card-recognition-models")
    assert g["ModelPackageGroupDescription"]
    assert g["ModelPackageGroupArn"].endswith(":model-package-group/pokemon-card-recognition-models")
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=g["ModelPackageGroupArn"])["Tags"]}
    assert tags["Project"] == "pokemon-card-recognition" and tags["Environment"] == "local"


def test_observability(footprint: Footprint) -> None:
    logs = footprint.client("logs")
    groups = {
        g["logGroupName"]: g
        for g in logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
    }
    for name in ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/Endpoints"):
        assert groups[name]["retentionInDays"] == 365, name
    body = json.loads(
        footprint.client("cloudwatch").get_dashboard(DashboardName="pokemon-card-recognition")[
            "DashboardBody"
        ]
    )
    text = json.dumps(body)
    assert "BucketSizeBytes" in text and BUCKET in text and "/aws/sagemaker/TrainingJobs" in text


def test_prod_plan_is_not_applied_without_approval(
    footprint: Footprint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make infra ENV=prod` without APPROVE=1 (and no terminal): plan saved and shown, nothing applied.

    envs/prod has no emulator endpoints; AWS_ENDPOINT_URL (honoured by the provider) points
    its caller-identity lookup at the emulator, so no real AWS is involved."""
    for k, v in {
        "AWS_ENDPOINT_URL": footprint.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    prod_dir = footprint.repo / "infra" / "envs" / "prod"
    outputs = tmp_path / "prod.json"
    result = infra.apply_prod(
        footprint.repo,
        approve=None,
        data_dir=tmp_path / "tfdata",
        outputs_path=outputs,
        plugin_dir=footprint.plugin_dir,
    )
    assert not result.applied and result.outputs_path is None and not outputs.exists()
    assert (prod_dir / infra.PLAN_FILE).is_file(), "the plan must be kept for a later APPROVE=1 run"
    assert not (prod_dir / "terraform.tfstate").exists()
    # Nothing reached the emulator: the prod role name would be the same, so count roles.
    roles = footprint.client("iam").list_roles()["Roles"]
    assert [r["RoleName"] for r in roles] == ["pokemon-card-recognition-sagemaker-execution"]


def test_make_infra_settings_then_store_push_then_no_changes(
    footprint: Footprint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-apply with `make infra`'s settings, push with only the outputs file, re-plan: no changes."""
    import boto3

    from pokecard.cli import run

    # What `make infra` applies (no extra -var): drops the TLS policy on the emulator.
    infra.apply_local(
        footprint.repo,
        port=int(footprint.url.rsplit(":", 1)[1]),
        pid_file=footprint.pid_file,
        outputs_path=footprint.outputs_path,
        plugin_dir=footprint.plugin_dir,
    )
    s3 = footprint.client("s3")
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)

    # The CLI with nothing but the outputs file: no credentials, no endpoint, no bucket name.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(footprint.outputs_path))
    src = tmp_path / "cards"
    src.mkdir()
    (src / "card-001.png").write_bytes(b"\x89PNG fake card bytes")
    assert run(["store", "push", str(src), "data/raw/card_images", "--root", "s3"]) == 0
    key = f"{PREFIX}data/raw/card_images/card-001.png"
    got = boto3.client(
        "s3",
        endpoint_url=footprint.url,
        region_name="us-east-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b"\x89PNG fake card bytes"
    assert got["VersionId"] and got["VersionId"] != "null", "versioning must be on for pushed objects"

    tf = infra.Terraform(footprint.env_dir, plugin_dir=footprint.plugin_dir)
    proc = tf.run(
        ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-var=endpoint_url={footprint.url}"],
        capture=True,
        check=False,
    )
    assert proc.returncode == 0, f"second plan is not empty (exit {proc.returncode}):\n{proc.stdout[-4000:]}"
    assert "No changes." in proc.stdout
