"""boto3 clients for the cloud commands, and the one place AWS errors become one-line messages.

Every client comes from :class:`pokecard.config.Settings` (region, endpoint of the emulator),
so the commands talk to the same place as the store. :func:`aws_errors` turns credentials,
endpoint, bucket, permission and API failures into :class:`CloudError` naming what failed and
what to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pokecard.config import Settings, load_settings
from pokecard.errors import PokecardError


class CloudError(PokecardError):
    """An AWS call failed (credentials, endpoint, bucket, permission or a service error)."""


def client(service: str, settings: Settings | None = None) -> Any:
    import boto3
    from botocore.config import Config

    s = settings or load_settings()
    cfg = Config(
        region_name=s.region,
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=32,
        s3={"addressing_style": "path"} if s.endpoint_url else {},
    )
    session = boto3.session.Session(region_name=s.region)
    creds: dict[str, str] = {}
    if s.endpoint_url and _is_loopback(s.endpoint_url) and session.get_credentials() is None:
        # The emulator accepts any key; the outputs file of `make infra` alone must be enough.
        creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return session.client(service, endpoint_url=s.endpoint_url, config=cfg, **creds)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


@contextlib.contextmanager
def aws_errors(what: str, endpoint: str | None = None) -> Iterator[None]:
    """Run AWS calls for ``what`` (e.g. "s3://bucket/key"); failures become one CloudError line."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
        PartialCredentialsError,
    )

    where = endpoint or "AWS"
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as e:
        raise CloudError(
            f"no AWS credentials for {what}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(for the local emulator, `make infra` writes the settings)"
        ) from e
    except NoRegionError as e:
        raise CloudError(f"no AWS region for {what}: set AWS_REGION (e.g. us-east-2)") from e
    except EndpointConnectionError as e:
        raise CloudError(
            f"cannot reach {where} for {what}: is it running? For the local emulator run `make infra`; "
            "otherwise check AWS_ENDPOINT_URL and the network"
        ) from e
    except ParamValidationError as e:
        raise CloudError(f"invalid request for {what}: {e}") from e
    except ClientError as e:
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        msg = _one_line(str(err.get("Message", "")))
        if code == "NoSuchBucket":
            raise CloudError(
                f"bucket of {what} does not exist at {where}: run `make infra` or set POKECARD_BUCKET"
            ) from e
        if code in (
            "AccessDenied",
            "AccessDeniedException",
            "403",
            "InvalidAccessKeyId",
            "UnauthorizedOperation",
        ):
            raise CloudError(
                f"access denied for {what} ({code}{': ' + msg if msg else ''}): the credentials or the "
                "role lack this permission; check the role policy in infra/modules/sagemaker_role"
            ) from e
        raise CloudError(f"{what}: AWS error {code or '?'}{': ' + msg if msg else ''}") from e


def _one_line(msg: str) -> str:
    """An error message as one short line (some endpoints answer a JSON API with an XML body)."""
    import re

    m = re.search(r"<Message>(.*?)</Message>", msg, re.S)
    if m:
        msg = m.group(1)
    elif msg.lstrip().startswith("<"):
        msg = re.sub(r"<[^>]+>", " ", msg)
    msg = " ".join(msg.split())
    return msg if len(msg) <= 300 else msg[:297] + "..."
