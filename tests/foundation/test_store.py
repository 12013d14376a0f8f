"""The store, against a local folder and against a real moto server over HTTP."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from pokecard import layout
from pokecard.errors import ChecksumMismatch, LayoutError, ObjectNotFound, StoreError
from pokecard.store import LocalStore, S3Store, Store, sha256_bytes


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(
        bucket,
        "project/pokemon-card-recognition/",
        region="us-east-2",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    )


def _tamper(store: Store, key: str, data: bytes) -> None:
    """Change an object's bytes behind the store's back (bit rot, a manual upload...)."""
    if isinstance(store, LocalStore):
        store.path(key).write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)


def test_put_get_records_checksums(store: Store) -> None:
    sha = store.put_bytes("data/reference/index.json", b'{"a": 1}')
    assert sha == sha256_bytes(b'{"a": 1}')
    assert store.get_bytes("data/reference/index.json") == b'{"a": 1}'
    assert store.exists("data/reference/index.json") and not store.exists("data/reference/none.json")
    manifest = json.loads(store.get_bytes(layout.PROJECT_MANIFEST))
    assert manifest["objects"]["data/reference/index.json"]["sha256"] == sha
    assert [o.key for o in store.list("data")] == ["data/reference/index.json"]


def test_writes_outside_layout_refused(store: Store) -> None:
    with pytest.raises(LayoutError, match="outside the project layout"):
        store.put_bytes("elsewhere/x.txt", b"x")
    assert not store.exists("elsewhere/x.txt")
    store.put_bytes("elsewhere/x.txt", b"x", force=True)
    assert store.get_bytes("elsewhere/x.txt") == b"x"


def test_missing_object_is_a_clear_error(store: Store, tmp_path) -> None:
    with pytest.raises(ObjectNotFound, match="data/none.bin"):
        store.get_file("data/none.bin", tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_corrupted_download_detected_and_not_left_in_place(store: Store, tmp_path) -> None:
    store.put_bytes("models/efficientnet-student/stage2/v1/student_stage2_final.onnx", b"good bytes")
    dest = tmp_path / "dl" / "student.onnx"
    dest.parent.mkdir()
    dest.write_bytes(b"previous local copy")
    _tamper(store, "models/efficientnet-student/stage2/v1/student_stage2_final.onnx", b"evil bytes")
    with pytest.raises(ChecksumMismatch, match="checksum mismatch"):
        store.get_file("models/efficientnet-student/stage2/v1/student_stage2_final.onnx", dest)
    assert dest.read_bytes() == b"previous local copy"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["student.onnx"]  # no partial file left
    rep = store.verify()
    assert rep.mismatched == ["models/efficientnet-student/stage2/v1/student_stage2_final.onnx"]
    assert not rep.passed


def test_push_pull_round_trip(store: Store, tmp_path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(os.urandom(5000))
    plan = store.push(src, "data/raw/card_images")
    assert plan.applied and sorted(plan.copy) == [
        "data/raw/card_images/a.txt",
        "data/raw/card_images/sub/b.bin",
    ]
    again = store.push(src, "data/raw/card_images")
    assert again.copy == [] and len(again.unchanged) == 2
    dst = tmp_path / "dst"
    store.pull("data/raw/card_images", dst)
    assert (dst / "a.txt").read_text() == "alpha"
    assert (dst / "sub" / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
    assert store.verify().passed


def test_sync_is_dry_run_and_deletes_only_when_told(store: Store, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.txt").write_text("k")
    store.put_bytes("data/processed/classification/old.txt", b"old")
    plan = store.sync_up(src, "data/processed/classification", delete=True)
    assert not plan.applied and plan.delete == ["data/processed/classification/old.txt"]
    assert store.exists("data/processed/classification/old.txt") and not store.exists(
        "data/processed/classification/keep.txt"
    )
    store.sync_up(src, "data/processed/classification", apply=True)
    assert store.exists("data/processed/classification/old.txt")  # --apply without --delete keeps it
    store.sync_up(src, "data/processed/classification", apply=True, delete=True)
    assert not store.exists("data/processed/classification/old.txt")
    assert "data/processed/classification/old.txt" not in store.manifest()["objects"]


def test_delete_is_dry_run_by_default(store: Store) -> None:
    store.put_bytes("analytics/metrics/summary.json", b"{}")
    assert store.delete("analytics/metrics/summary.json") is True
    assert store.exists("analytics/metrics/summary.json")
    store.delete("analytics/metrics/summary.json", dry_run=False)
    assert not store.exists("analytics/metrics/summary.json")
    with pytest.raises(ObjectNotFound):
        store.delete("analytics/metrics/summary.json")


@pytest.mark.integration
def test_large_file_uses_multipart(s3_bucket: str, tmp_path) -> None:
    st = S3Store(
        s3_bucket,
        "project/pokemon-card-recognition/",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        multipart_threshold=5 * 1024 * 1024,
    )
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * 1024 * 1024))
    st.put_file("models/dinov3-teacher/v1/model.tar.gz", big)
    head = st.client.head_object(Bucket=s3_bucket, Key=st.prefix + "models/dinov3-teacher/v1/model.tar.gz")
    assert "-" in head["ETag"]  # multipart ETags are <md5>-<parts>
    assert (
        st.get_file("models/dinov3-teacher/v1/model.tar.gz", tmp_path / "back.bin").read_bytes()
        == big.read_bytes()
    )


@pytest.mark.integration
def test_wrong_bucket_is_a_clear_error(aws_env: str) -> None:
    st = S3Store("no-such-bucket-here", "project/x/", endpoint_url=aws_env)
    with pytest.raises(StoreError, match="bucket 'no-such-bucket-here' does not exist"):
        st.put_bytes("data/x.txt", b"x")


def test_endpoint_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pokecard.aws.emulator import free_port

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    st = S3Store("b", "project/x/", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match="cannot reach the S3 endpoint"):
        st.list("data")


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    st = S3Store("pokemon-card-training-us-east-2", "project/x/", region="us-east-2")
    with pytest.raises(StoreError, match="no AWS credentials"):
        st.put_bytes("data/x.txt", b"x")


def test_loopback_emulator_needs_no_credentials(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    st = S3Store(s3_bucket, "project/p/", endpoint_url=endpoint)
    st.put_bytes("data/x.txt", b"x")
    assert (
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="a",
            aws_secret_access_key="b",
            region_name="us-east-2",
        )
        .get_object(Bucket=s3_bucket, Key="project/p/data/x.txt")["Body"]
        .read()
        == b"x"
    )
