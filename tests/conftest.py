"""Shared fixtures. Integration fixtures start real local servers and stop them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# the card fixtures (small_catalog, tf_root, tiny_models, ...) and helpers live in tests/cardlib.py
pytest_plugins = ["cardlib"]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's pokecard.toml, infra outputs or AWS profile."""
    for var in (
        "POKECARD_ROOT",
        "POKECARD_BUCKET",
        "POKECARD_PREFIX",
        "AWS_ENDPOINT_URL",
        "MLFLOW_TRACKING_URI",
        "POKECARD_CONFIG",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path_factory.mktemp("noconfig")
    monkeypatch.setenv("POKECARD_CONFIG", str(empty / "pokecard.toml"))
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(empty / "outputs.json"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "aws-credentials"))
    monkeypatch.setenv("POKECARD_PROGRESS", "0")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server over HTTP on 127.0.0.1 (a free port); yields its URL."""
    from pokecard.aws import emulator

    emu = emulator.start()
    try:
        yield emu.url
    finally:
        emu.stop()


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server with test credentials; yields the endpoint URL."""
    from pokecard.aws.emulator import TEST_CREDENTIALS

    for k, v in TEST_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    return moto_server


@pytest.fixture
def s3_bucket(aws_env: str) -> str:
    """A fresh, empty bucket on the moto server."""
    import uuid

    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-2").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-2"}
    )
    return name


def require_or_skip(condition: bool, reason: str, strict_env: str) -> None:
    """Skip when a tool is absent, unless CI demands it (``strict_env`` set) - then fail."""
    if condition:
        return
    if os.environ.get(strict_env):
        pytest.fail(f"{reason} (and {strict_env} is set, so this is a failure, not a skip)")
    pytest.skip(reason)
