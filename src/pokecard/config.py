"""Settings: where things live. One object, read from (lowest to highest precedence):

1. built-in defaults (a local root folder, bucket ``pokemon-card-training-us-east-2``,
   prefix ``project/pokemon-card-recognition/``, region ``us-east-2``);
2. the Terraform outputs file written by ``make infra`` (``infra/outputs/<env>.json``, or
   ``POKECARD_INFRA_OUTPUTS``), so bucket/prefix/role/registry names are never typed twice;
3. ``pokecard.toml`` in the working directory (or ``POKECARD_CONFIG``), table ``[pokecard]``;
4. environment variables: POKECARD_ROOT, POKECARD_BUCKET, POKECARD_PREFIX, AWS_REGION,
   AWS_ENDPOINT_URL, MLFLOW_TRACKING_URI;
5. explicit overrides (CLI options).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pokecard.errors import ConfigError

DEFAULT_BUCKET = "pokemon-card-training-us-east-2"
DEFAULT_PREFIX = "project/pokemon-card-recognition/"
DEFAULT_REGION = "us-east-2"
DEFAULT_ROOT = "work/root"
MODEL_PACKAGE_GROUP = "pokemon-card-recognition-models"

ENV_VARS = {
    "root": "POKECARD_ROOT",
    "bucket": "POKECARD_BUCKET",
    "prefix": "POKECARD_PREFIX",
    "region": "AWS_REGION",
    "endpoint_url": "AWS_ENDPOINT_URL",
    "mlflow_tracking_uri": "MLFLOW_TRACKING_URI",
}

# Terraform output name -> Settings field. The outputs file is `terraform output -json`
# flattened to {name: value} by scripts/infra.sh.
INFRA_OUTPUT_FIELDS = {
    "bucket": "bucket",
    "prefix": "prefix",
    "region": "region",
    "endpoint_url": "endpoint_url",
    "role_arn": "role_arn",
    "model_package_group": "model_package_group",
    "log_groups": "log_groups",
}


@dataclass(frozen=True)
class Settings:
    root: str = DEFAULT_ROOT
    bucket: str = DEFAULT_BUCKET
    prefix: str = DEFAULT_PREFIX
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    mlflow_tracking_uri: str | None = None
    role_arn: str | None = None
    model_package_group: str = MODEL_PACKAGE_GROUP
    log_groups: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def s3_root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}/"

    def resolve_root(self, root: str | os.PathLike[str] | None = None) -> str:
        """A root as given by a user: a local path, ``s3://bucket/prefix``, or ``s3`` meaning
        the configured bucket and prefix."""
        r = str(root) if root is not None else self.root
        if r in ("s3", "s3://"):
            return self.s3_root
        return r

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def infra_outputs_path(env: str | None = None) -> Path:
    explicit = os.environ.get("POKECARD_INFRA_OUTPUTS")
    if explicit:
        return Path(explicit)
    return Path("infra") / "outputs" / f"{env or os.environ.get('POKECARD_ENV', 'local')}.json"


def _read_infra_outputs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); rerun `make infra` to rewrite it") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of Terraform outputs")
    return {INFRA_OUTPUT_FIELDS[k]: v for k, v in data.items() if k in INFRA_OUTPUT_FIELDS and v is not None}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from e
    table = data.get("pokecard", data)
    allowed = {f.name for f in fields(Settings)} - {"sources"}
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}"
        )
    return dict(table)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from all sources; ``overrides`` with value None are ignored."""
    values: dict[str, Any] = {}
    sources: list[str] = ["defaults"]
    outputs = infra_outputs_path()
    if outputs.is_file():
        values.update(_read_infra_outputs(outputs))
        sources.append(str(outputs))
    cfg = Path(os.environ.get("POKECARD_CONFIG", "pokecard.toml"))
    if cfg.is_file():
        values.update(_read_toml(cfg))
        sources.append(str(cfg))
    for name, var in ENV_VARS.items():
        v = os.environ.get(var)
        if v:
            values[name] = v
            sources.append(f"${var}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("prefix") is not None and not str(values["prefix"]).strip("/"):
        raise ConfigError("prefix must not be empty: the project lives under a prefix in the bucket")
    try:
        return replace(Settings(), **values, sources=tuple(sources))
    except TypeError as e:
        raise ConfigError(f"invalid setting: {e}") from e
