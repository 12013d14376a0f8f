"""`pokecard verify` on a moto bucket: push a folder, corrupt objects, see them named."""

from __future__ import annotations

import json

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def pushed(s3_bucket, tmp_path):  # noqa: ANN001, ANN201
    src = tmp_path / "cards"
    for i in range(12):
        (src / f"set{i % 2}").mkdir(parents=True, exist_ok=True)
        (src / f"set{i % 2}" / f"card{i:02d}.jpg").write_bytes(f"card {i} ".encode() * (50 + i))
    root = f"s3://{s3_bucket}/project/pokemon-card-recognition"
    code, _, err = run_cli("store", "push", str(src), "data/raw/card_images", "--root", root)
    assert code == 0, err
    return s3_bucket, root


def _s3():  # noqa: ANN202
    import boto3

    return boto3.client("s3")


def test_clean_store_passes_with_counts(pushed) -> None:  # noqa: ANN001
    _, root = pushed
    code, out, err = run_cli("verify", "--root", root, "--json", "--deep")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["passed"] and doc["checked"] == 12
    assert doc["counts"]["data/raw"] == {"expected": 12, "present": 12}


def test_corrupted_missing_extra_named(pushed) -> None:  # noqa: ANN001
    bucket, root = pushed
    p = "project/pokemon-card-recognition/"
    s3 = _s3()
    s3.put_object(Bucket=bucket, Key=p + "data/raw/card_images/set0/card00.jpg", Body=b"truncated")
    s3.delete_object(Bucket=bucket, Key=p + "data/raw/card_images/set1/card01.jpg")
    s3.put_object(Bucket=bucket, Key=p + "data/raw/card_images/stray.txt", Body=b"x")
    code, out, err = run_cli("verify", "--root", root)
    assert code == 1
    assert "corrupted  data/raw/card_images/set0/card00.jpg" in out
    assert "missing    data/raw/card_images/set1/card01.jpg" in out
    assert "extra      data/raw/card_images/stray.txt" in out
    assert "FAILED: 3 problem(s)" in out


def test_same_size_rewrite_caught_by_deep(pushed, monkeypatch) -> None:  # noqa: ANN001
    from pokecard.aws import verify

    bucket, root = pushed
    key = "project/pokemon-card-recognition/data/raw/card_images/set0/card02.jpg"
    body = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    _s3().put_object(Bucket=bucket, Key=key, Body=bytes([body[0] ^ 1]) + body[1:])
    # Within the clock slack the listing cannot tell: fast passes, deep re-hashes and names it.
    monkeypatch.setattr(verify, "CLOCK_SLACK_S", 3600.0)
    assert run_cli("verify", "--root", root)[0] == 0
    code, out, _ = run_cli("verify", "data/raw", "--root", root, "--deep", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["corrupted"] == ["data/raw/card_images/set0/card02.jpg"]
    assert "sha256" in doc["problems"][0]["detail"]


def test_bucket_missing_is_one_line(aws_env) -> None:  # noqa: ANN001
    code, out, err = run_cli("verify", "--root", "s3://no-such-bucket-x/project/p")
    assert code != 0 and out == "" and "no-such-bucket-x" in err and "make infra" in err
    assert err.count("\n") == 1
