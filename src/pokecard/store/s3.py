"""``S3Store``: a project root at ``s3://bucket/prefix/``; boto3 is imported only when one is
opened, so commands that never touch S3 do not load it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pokecard.errors import ObjectNotFound, StoreError
from pokecard.store.base import Store
from pokecard.store.reports import ObjectInfo

MULTIPART_THRESHOLD = 64 * 1024 * 1024


class S3Store(Store):
    """A project root at ``s3://bucket/prefix/`` (real AWS or an emulator via endpoint_url)."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> None:
        super().__init__()
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/"
        self.endpoint_url = endpoint_url
        self.url = f"s3://{bucket}/{self.prefix}"
        cfg = Config(
            region_name=region,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        # A session of its own: the default session caches credentials process-wide.
        session = boto3.session.Session(region_name=region)
        creds: dict[str, str] = {}
        if endpoint_url and _is_loopback(endpoint_url) and session.get_credentials() is None:
            # The local emulator accepts any key; a fresh machine has no AWS profile, and the
            # outputs file of `make infra` alone must be enough to use it.
            creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.client = session.client("s3", endpoint_url=endpoint_url, config=cfg, **creds)
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(5 * 1024 * 1024, multipart_threshold // 4),
        )

    def _k(self, key: str) -> str:
        return self.prefix + key

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = f"s3://{self.bucket}/{self._k(key)}"
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError) as e:
            raise StoreError(
                f"no AWS credentials for {where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "(for the local emulator, `make infra` writes the settings)"
            ) from e
        except EndpointConnectionError as e:
            raise StoreError(
                f"cannot reach the S3 endpoint {self.endpoint_url or 'AWS'} for {where}: is it running? "
                "For the local emulator run `make infra`; otherwise check AWS_ENDPOINT_URL and the network"
            ) from e
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchBucket",):
                raise StoreError(
                    f"bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS'}: run `make infra` "
                    "or set POKECARD_BUCKET to the right bucket"
                ) from e
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(f"{where} does not exist") from e
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise StoreError(
                    f"access denied to {where} ({code}): check the credentials and the role policy"
                ) from e
            raise StoreError(f"S3 error on {where}: {code or e}") from e

    def _put_file(self, key: str, path: Path) -> None:
        with self._errors(key):
            self.client.upload_file(str(path), self.bucket, self._k(key), Config=self.transfer)

    def _put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data)

    def _get_to(self, key: str, dest: Path) -> None:
        with self._errors(key):
            self.client.download_file(self.bucket, self._k(key), str(dest), Config=self.transfer)

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._k(key))
            return True
        except ObjectNotFound:
            return False
        except StoreError as e:
            if (
                isinstance(e.__cause__, ClientError)
                and e.__cause__.response.get("Error", {}).get("Code") == "403"
            ):
                return False
            raise

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._k(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield ObjectInfo(obj["Key"][len(self.prefix) :], int(obj["Size"]))

    def _delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def _list_detailed(self, prefix: str) -> Iterator[dict[str, Any]]:
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._k(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield {
                        "key": obj["Key"][len(self.prefix) :],
                        "size": int(obj["Size"]),
                        "etag": str(obj.get("ETag", "")).strip('"') or None,
                        "last_modified": obj["LastModified"].timestamp() if obj.get("LastModified") else None,
                        "storage_class": obj.get("StorageClass", "STANDARD"),
                    }


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
