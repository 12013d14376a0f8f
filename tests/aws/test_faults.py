"""A role without a permission: moto enforcing IAM (INITIAL_NO_AUTH_ACTION_COUNT) refuses a call
the user's policy does not allow, and the command says so in one line."""

from __future__ import annotations

import json

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


def test_missing_permission_is_one_line(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    import boto3

    from pokecard.aws import emulator

    # The first 4 calls are unauthenticated (set-up); every later one is checked against IAM.
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "4")
    emu = emulator.start()
    try:
        kw = {
            "endpoint_url": emu.url,
            "region_name": "us-east-2",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        boto3.client("s3", **kw).create_bucket(
            Bucket="perm", CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
        )
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="s3-only")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="s3-only", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="s3-only")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", emu.url)
        monkeypatch.setenv("AWS_REGION", "us-east-2")
        # S3 is allowed: verify of the (empty) root works; SageMaker is not: jobs is refused.
        assert run_cli("verify", "--root", "s3://perm/project/p")[0] == 0
        code, out, err = run_cli("jobs", "--root", str(tmp_path))
        assert code != 0 and out == ""
        assert "access denied" in err and "permission" in err and err.count("\n") == 1
    finally:
        emu.stop()
