"""The artifact store: one interface over a local folder and S3.

``open_store`` picks the backend for a root. The contract and the checks every backend
shares live in :mod:`pokecard.store.base`; the backends in :mod:`pokecard.store.local`
and :mod:`pokecard.store.s3` (boto3 stays lazy: imported when an S3 store is opened).
"""

from __future__ import annotations

import os

from pokecard.config import Settings, load_settings
from pokecard.errors import StoreError
from pokecard.store.base import CHUNK, Store, sha256_bytes, sha256_file
from pokecard.store.local import LocalStore
from pokecard.store.reports import ObjectInfo, SyncPlan, VerifyReport
from pokecard.store.s3 import MULTIPART_THRESHOLD, S3Store

__all__ = [
    "CHUNK",
    "MULTIPART_THRESHOLD",
    "LocalStore",
    "ObjectInfo",
    "S3Store",
    "Store",
    "SyncPlan",
    "VerifyReport",
    "open_store",
    "sha256_bytes",
    "sha256_file",
]


def open_store(root: str | os.PathLike[str] | Store | None = None, settings: Settings | None = None) -> Store:
    """Open the store for a root: a local path, ``s3://bucket/prefix``, or ``s3`` (configured
    bucket); a Store is returned as it is, so library calls take either."""
    if isinstance(root, Store):
        return root
    s = settings or load_settings()
    r = s.resolve_root(root)
    if r.startswith("s3://"):
        rest = r[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket or not prefix.strip("/"):
            raise StoreError(f"{r}: an S3 root needs a bucket and a prefix, e.g. s3://{s.bucket}/{s.prefix}")
        return S3Store(bucket, prefix, region=s.region, endpoint_url=s.endpoint_url)
    return LocalStore(r)
