"""`pokecard restore [PREFIX] --at TIME`: bring the layout (or a prefix) back to its state at a
point in time, from the versioned bucket's object versions and delete markers.

Dry run by default: what would be restored (a different version was current at TIME), deleted
(the key did not exist at TIME) or left alone. Applied: the old version is copied over the key
server-side (a new version, so nothing is lost: the restore itself can be undone), keys that
did not exist get a delete marker, and the project manifest of that time is restored too; every
restored object is then re-hashed against it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from pokecard import layout
from pokecard.aws.clients import CloudError, aws_errors
from pokecard.errors import ConfigError
from pokecard.store import S3Store, Store


@dataclass
class RestoreResult:
    at: str
    prefix: str
    applied: bool
    restore: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: int = 0
    verified: int = 0
    mismatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 (naive means UTC), or a relative '-2h' / '-30m' / '-1d'."""
    t = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if t.startswith("-") and t[-1:] in units and t[1:-1].replace(".", "", 1).isdigit():
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=float(t[1:-1]) * units[t[-1]])
    try:
        v = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as e:
        raise ConfigError(
            f"--at {text!r}: use ISO 8601 (2026-11-30T12:00:00Z) or a relative time like -2h"
        ) from e
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _versions(store: Store, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """key -> its versions and delete markers, newest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    with aws_errors(f"s3://{store.bucket}/{store.prefix}{prefix}"):
        pages = store.client.get_paginator("list_object_versions").paginate(
            Bucket=store.bucket, Prefix=store.prefix + prefix
        )
        for page in pages:
            for kind in ("Versions", "DeleteMarkers"):
                for v in page.get(kind, []):
                    key = v["Key"][len(store.prefix) :]
                    out.setdefault(key, []).append({**v, "marker": kind == "DeleteMarkers"})
    for vs in out.values():
        vs.sort(key=lambda v: v["LastModified"], reverse=True)
    return out


def _at(versions: list[dict[str, Any]], when: dt.datetime) -> dict[str, Any] | None:
    """The version current at ``when`` (None: the key did not exist then)."""
    for v in versions:
        if v["LastModified"] <= when:
            return None if v["marker"] else v
    return None


def restore(store: Store, at: dt.datetime, prefix: str = "", *, apply: bool = False) -> RestoreResult:
    if not isinstance(store, S3Store):
        raise ConfigError(f"restore reads S3 object versions: {store.url} is not an s3:// root")
    pfx = layout.validate_key(prefix) if prefix.strip("/") else ""
    with aws_errors(f"s3://{store.bucket}"):
        status = store.client.get_bucket_versioning(Bucket=store.bucket).get("Status")
    if status != "Enabled":
        raise CloudError(
            f"bucket {store.bucket} is not versioned (status {status or 'never enabled'}): nothing to restore from"
        )
    res = RestoreResult(at.isoformat(timespec="seconds"), pfx, apply)
    plan: dict[str, dict[str, Any] | None] = {}
    for key, vs in sorted(_versions(store, pfx).items()):
        then, now = _at(vs, at), vs[0]
        if then is None:
            if not now["marker"]:
                res.delete.append(key)
                plan[key] = None
        elif now["marker"] or now["VersionId"] != then["VersionId"]:
            res.restore.append(key)
            plan[key] = then
        else:
            res.unchanged += 1
    man_then = _at(_versions(store, layout.PROJECT_MANIFEST).get(layout.PROJECT_MANIFEST, []), at)
    if not apply:
        return res
    for key, v in plan.items():
        with aws_errors(f"restore s3://{store.bucket}/{store.prefix}{key}"):
            if v is None:
                store.client.delete_object(Bucket=store.bucket, Key=store.prefix + key)
            else:
                store.client.copy_object(
                    Bucket=store.bucket,
                    Key=store.prefix + key,
                    CopySource={
                        "Bucket": store.bucket,
                        "Key": store.prefix + key,
                        "VersionId": v["VersionId"],
                    },
                )
    if man_then is not None and pfx == "":
        with aws_errors("restore the project manifest"):
            store.client.copy_object(
                Bucket=store.bucket,
                Key=store.prefix + layout.PROJECT_MANIFEST,
                CopySource={
                    "Bucket": store.bucket,
                    "Key": store.prefix + layout.PROJECT_MANIFEST,
                    "VersionId": man_then["VersionId"],
                },
            )
    # Verify against the manifest of that time (its objects' sha256), then record what is now there.
    old: dict[str, Any] = {}
    if man_then is not None:
        import json

        body = store.client.get_object(
            Bucket=store.bucket, Key=store.prefix + layout.PROJECT_MANIFEST, VersionId=man_then["VersionId"]
        )
        old = json.loads(body["Body"].read()).get("objects", {})
    store.reload_manifest()  # it may have been restored above
    with store.batch():
        for key, v in plan.items():
            if key == layout.PROJECT_MANIFEST:
                continue
            if v is None:
                store.forget(key)
                continue
            data = store.client.get_object(Bucket=store.bucket, Key=store.prefix + key)["Body"].read()
            sha = hashlib.sha256(data).hexdigest()
            if key in old and old[key]["sha256"] != sha:
                res.mismatched.append(key)
                continue
            res.verified += 1
            if layout.in_layout(key):
                store.record_copy(key, sha, len(data))
    if res.mismatched:
        raise CloudError(
            f"{len(res.mismatched)} restored object(s) do not match the manifest of {res.at} "
            f"(first: {res.mismatched[0]}); the previous versions are kept, see `pokecard verify`"
        )
    return res
