"""The price table shipped with the package (``aws/data/prices.json``, with its date and source)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from pokecard.errors import ConfigError


@functools.cache
def table() -> dict[str, Any]:
    return json.loads(resources.files("pokecard.aws").joinpath("data/prices.json").read_text())


def training_per_hour(instance_type: str) -> float | None:
    """On-demand $/h of a SageMaker training instance; None when the table lacks it."""
    return table()["sagemaker_training_per_hour"].get(instance_type)


def check_instance_type(instance_type: str) -> str:
    """Refuse a training instance type the table does not know (a typo costs a failed job)."""
    known = table()["sagemaker_training_per_hour"]
    if instance_type not in known:
        raise ConfigError(
            f"instance type {instance_type!r} is not a SageMaker training instance in the price table "
            f"(known: {', '.join(sorted(known))}); add it to pokecard/aws/data/prices.json if it is real"
        )
    return instance_type


def storage_per_gb_month(storage_class: str) -> float:
    prices = table()["s3_per_gb_month"]
    return float(prices.get(storage_class, prices["STANDARD"]))
