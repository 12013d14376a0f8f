"""`pokecard restore --at` on a versioned moto bucket: overwrite, delete and add, then go back."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


def test_restore_overwritten_deleted_and_new(s3_bucket, tmp_path) -> None:  # noqa: ANN001
    import boto3

    from pokecard.store import open_store

    boto3.client("s3").put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    src = tmp_path / "ref"
    src.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (src / name).write_bytes(name.encode() * 100)
    root = f"s3://{s3_bucket}/project/pokemon-card-recognition"
    assert run_cli("store", "push", str(src), "data/reference", "--root", root)[0] == 0
    time.sleep(1.2)  # S3 times are per second: the point in time must fall between the writes
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    time.sleep(1.2)
    st = open_store(root)
    st.put_bytes("data/reference/a.bin", b"a bad sync wrote this")
    st.delete("data/reference/b.bin", dry_run=False)
    st.put_bytes("data/reference/new.bin", b"not there before")

    code, out, err = run_cli("restore", "data/reference", "--at", at, "--root", root, "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert doc["restore"] == ["data/reference/a.bin", "data/reference/b.bin"]
    assert doc["delete"] == ["data/reference/new.bin"] and doc["unchanged"] == 1 and not doc["applied"]
    assert open_store(root).get_bytes("data/reference/a.bin") == b"a bad sync wrote this"  # dry run

    code, out, err = run_cli("restore", "--at", at, "--root", root, "--apply", "--json")
    assert code == 0, err
    assert json.loads(out)["verified"] == 2
    st = open_store(root)
    assert st.get_bytes("data/reference/a.bin") == b"a.bin" * 100
    assert st.get_bytes("data/reference/b.bin") == b"b.bin" * 100
    assert not st.exists("data/reference/new.bin")
    assert run_cli("verify", "--root", root, "--deep")[0] == 0
    # Nothing was lost: the bad version is still a noncurrent version.
    vs = boto3.client("s3").list_object_versions(
        Bucket=s3_bucket, Prefix="project/pokemon-card-recognition/data/reference/a.bin"
    )
    bodies = [
        boto3.client("s3").get_object(Bucket=s3_bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        for v in vs["Versions"]
    ]
    assert b"a bad sync wrote this" in bodies


def test_unversioned_bucket_and_bad_time(s3_bucket) -> None:  # noqa: ANN001
    root = f"s3://{s3_bucket}/project/p"
    code, _, err = run_cli("restore", "--at", "-1h", "--root", root)
    assert code != 0 and "not versioned" in err
    code, _, err = run_cli("restore", "--at", "yesterday-ish", "--root", root)
    assert code != 0 and "ISO 8601" in err and err.count("\n") == 1
