"""Fixtures for the cloud-operation tests: one Terraform footprint (envs/local applied to a
moto server) shared by the whole directory, and the outputs file pointing pokecard at it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The infra tests' helpers (require_terraform, copy_infra), imported by name like they do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infra"))
from infra_testlib import copy_infra, moto_client, require_terraform  # noqa: E402


@dataclass
class Footprint:
    url: str
    outputs_path: Path
    outputs: dict[str, Any]

    def client(self, service: str) -> Any:
        return moto_client(self.url, service)


@pytest.fixture(scope="session")
def footprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Footprint]:
    """`make infra` once for tests/aws: the bucket, role and model package group from Terraform."""
    from pokecard.aws import infra
    from pokecard.aws.emulator import free_port

    plugin_dir = require_terraform()
    repo = tmp_path_factory.mktemp("aws-repo")
    root = copy_infra(repo)
    pid_file = repo / ".pokecard" / "moto.pid"
    outputs_path = repo / "infra" / "outputs" / "local.json"
    try:
        r = infra.apply_local(
            repo, port=free_port(), pid_file=pid_file, outputs_path=outputs_path, plugin_dir=plugin_dir
        )
        assert r.endpoint_url
        yield Footprint(r.endpoint_url, outputs_path, json.loads(outputs_path.read_text()))
    finally:
        infra.down(repo, pid_file=pid_file, env_dir=root / "envs" / "local")


@pytest.fixture
def tf_env(footprint: Footprint, monkeypatch: pytest.MonkeyPatch) -> Footprint:
    """pokecard configured only by the Terraform outputs file (as after `make infra`)."""
    from pokecard.aws.emulator import TEST_CREDENTIALS

    for k, v in TEST_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(footprint.outputs_path))
    return footprint
