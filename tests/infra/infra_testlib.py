"""Helpers shared by the infra tests (imported by name: tests/infra has no __init__.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import require_or_skip

REPO = Path(__file__).resolve().parents[2]
STRICT_ENV = "POKECARD_REQUIRE_TERRAFORM"
# What a developer's own runs leave in infra/ and a copy must not carry.
_IGNORE = shutil.ignore_patterns(
    ".terraform", "terraform.tfstate*", "*.tfplan", "backend_override.tf", "outputs"
)


def require_terraform() -> Path:
    """Skip (or, with POKECARD_REQUIRE_TERRAFORM set, fail) unless terraform and the offline
    provider mirror are here; returns the plugin dir."""
    from pokecard.aws.infra import find_plugin_dir

    require_or_skip(shutil.which("terraform") is not None, "terraform is not on PATH", STRICT_ENV)
    plugin_dir = find_plugin_dir()
    require_or_skip(
        plugin_dir is not None,
        "no Terraform provider mirror found (set TF_PLUGIN_DIR); init would need the registry",
        STRICT_ENV,
    )
    assert plugin_dir is not None
    return plugin_dir


def copy_infra(dest: Path) -> Path:
    """A private copy of infra/ (modules keep their relative paths), so tests never write
    state, plans or .terraform/ into the working tree and can run beside `make infra`."""
    target = dest / "infra"
    shutil.copytree(REPO / "infra", target, ignore=_IGNORE)
    return target


def moto_client(url: str, service: str):  # noqa: ANN201 - a boto3 client
    """A boto3 client of ``service`` on the moto server at ``url`` with the test credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
