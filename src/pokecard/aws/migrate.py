"""`pokecard migrate PLAN.yaml`: move scattered S3 data into the project layout.

A plan maps source prefixes (this bucket or another) to layout prefixes. Dry run by default.
Applied: server-side copies (S3 CopyObject; multipart UploadPartCopy above 5 GB) by parallel
workers; each copy is read back and verified (size, and MD5 against the source ETag, or the
source's sha256 when its ETag is a multipart one) before it is journaled. The journal (one
JSON line per verified copy, local, appended as it goes) makes a rerun skip what is done, so a
kill at any point loses nothing. Verified copies go into the project manifest. Sources are
deleted only with ``delete_source``, only when every object of the plan verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pokecard import layout
from pokecard.aws.clients import CloudError, aws_errors
from pokecard.errors import ConfigError
from pokecard.progress import progress
from pokecard.store import S3Store, Store

PLAN_KEYS = {"name", "description", "source_bucket", "workers", "mappings"}
MAPPING_KEYS = {"source", "destination", "source_bucket"}
MULTIPART_COPY_THRESHOLD = 5 * 1024**3
STATE_DIR = Path(".pokecard/migrate")


@dataclass
class Mapping:
    source_bucket: str
    source: str  # key prefix in the source bucket, ends with '/'
    destination: str  # layout prefix under the project root


@dataclass
class Plan:
    path: str
    name: str
    mappings: list[Mapping]
    workers: int = 16


@dataclass
class Item:
    bucket: str
    key: str
    size: int
    etag: str
    dest: str  # layout key


@dataclass
class MigrateResult:
    plan: str
    applied: bool
    journal: str
    copy: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    copy_bytes: int = 0
    skip_bytes: int = 0
    copied: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_plan(path: str | os.PathLike[str], default_bucket: str, dest_prefix: str) -> Plan:
    """Read and check a plan; every error names the file, the mapping and the problem."""
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except FileNotFoundError as e:
        raise ConfigError(f"{p}: no such migration plan") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})".replace("\n", " ")) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("mappings"), list) or not doc["mappings"]:
        raise ConfigError(f"{p}: a plan is a mapping with a non-empty 'mappings' list")
    unknown = set(doc) - PLAN_KEYS
    if unknown:
        raise ConfigError(
            f"{p}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(PLAN_KEYS))}"
        )
    maps = []
    for i, m in enumerate(doc["mappings"], 1):
        where = f"{p}: mapping {i}"
        if not isinstance(m, dict):
            raise ConfigError(f"{where}: expected 'source' and 'destination'")
        bad = set(m) - MAPPING_KEYS
        if bad:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(MAPPING_KEYS))}"
            )
        if not m.get("source") or not m.get("destination"):
            raise ConfigError(f"{where}: needs both 'source' and 'destination'")
        dest = layout.validate_key(str(m["destination"]))
        if not layout.in_layout(dest):
            raise ConfigError(
                f"{where}: destination {dest!r} is outside the project layout "
                f"(top-level folders: {', '.join(layout.TOP_LEVEL)})"
            )
        src = str(m["source"]).strip("/") + "/"
        bucket = str(m.get("source_bucket") or doc.get("source_bucket") or default_bucket)
        full_dest = f"{dest_prefix.strip('/')}/{dest}/"
        if bucket == default_bucket and (full_dest.startswith(src) or src.startswith(full_dest)):
            raise ConfigError(
                f"{where}: source s3://{bucket}/{src} and destination s3://{bucket}/{full_dest} overlap; "
                "a copy would read its own output"
            )
        maps.append(Mapping(bucket, src, dest))
    workers = int(doc.get("workers", 16))
    if not 1 <= workers <= 64:
        raise ConfigError(f"{p}: workers {workers} must be between 1 and 64")
    return Plan(str(p), str(doc.get("name") or p.stem), maps, workers)


def journal_path(plan: Plan, store_url: str, state_dir: Path = STATE_DIR) -> Path:
    h = hashlib.sha256((Path(plan.path).read_text() + store_url).encode()).hexdigest()[:12]
    return state_dir / f"{plan.name}-{h}.jsonl"


def read_journal(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(source bucket/key, source etag) -> the verified copy; a line cut by a kill is ignored."""
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                e = json.loads(line)
                done[(e["src"], e["etag"])] = e
            except (json.JSONDecodeError, KeyError):
                continue
    return done


def _items(s3: Any, plan: Plan) -> list[Item]:
    items = []
    for m in plan.mappings:
        with aws_errors(f"s3://{m.source_bucket}/{m.source}"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=m.source_bucket, Prefix=m.source):
                for o in page.get("Contents", []):
                    rel = o["Key"][len(m.source) :]
                    if not rel:
                        continue
                    dest = layout.check_writable(f"{m.destination}/{rel}")
                    items.append(
                        Item(m.source_bucket, o["Key"], int(o["Size"]), str(o["ETag"]).strip('"'), dest)
                    )
    return items


def _copy_one(store: Store, it: Item) -> dict[str, Any]:
    """Server-side copy, then read the copy back: size, MD5 (= single-part ETag) and sha256."""
    from boto3.s3.transfer import TransferConfig

    s3, dest = store.client, store.prefix + it.dest
    cfg = TransferConfig(multipart_threshold=MULTIPART_COPY_THRESHOLD, multipart_chunksize=512 * 1024**2)
    with aws_errors(f"copy s3://{it.bucket}/{it.key} -> s3://{store.bucket}/{dest}"):
        s3.copy(
            {"Bucket": it.bucket, "Key": it.key},
            store.bucket,
            dest,
            ExtraArgs={"CopySourceIfMatch": f'"{it.etag}"'},
            Config=cfg,
        )
        sha, md5, size = _hash(s3, store.bucket, dest)
        # A multipart source's ETag is no content MD5: compare with the source's sha256 instead.
        ok = _hash(s3, it.bucket, it.key)[0] == sha if "-" in it.etag else md5 == it.etag
    if size != it.size or not ok:
        raise CloudError(
            f"copy of s3://{it.bucket}/{it.key} to {it.dest} did not verify (size {size} vs {it.size})"
        )
    return {"src": f"{it.bucket}/{it.key}", "etag": it.etag, "dst": it.dest, "sha256": sha, "size": size}


def _hash(s3: Any, bucket: str, key: str) -> tuple[str, str, int]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    sha, md5, n = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    for chunk in iter(lambda: body.read(1 << 20), b""):
        sha.update(chunk)
        md5.update(chunk)
        n += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), n


def migrate(
    plan: Plan,
    store: Store,
    *,
    apply: bool = False,
    delete_source: bool = False,
    state_dir: Path = STATE_DIR,
    workers: int | None = None,
) -> MigrateResult:
    if not isinstance(store, S3Store):
        raise ConfigError(
            f"migrate copies server-side inside S3: {store.url} is not an s3:// root (use --root s3)"
        )
    jpath = journal_path(plan, store.url, state_dir)
    res = MigrateResult(plan.path, apply, str(jpath))
    done = read_journal(jpath)
    items = _items(store.client, plan)
    todo = []
    for it in items:
        if (f"{it.bucket}/{it.key}", it.etag) in done:
            res.skip.append(it.dest)
            res.skip_bytes += it.size
        else:
            todo.append(it)
            res.copy.append(it.dest)
            res.copy_bytes += it.size
    if delete_source:
        res.delete = [f"s3://{it.bucket}/{it.key}" for it in items]
    if not apply:
        return res
    jpath.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    with open(jpath, "a") as journal, store.batch():
        for e in done.values():  # a kill after the journal line but before the manifest write
            store.record_copy(e["dst"], e["sha256"], e["size"])
        with (
            ThreadPoolExecutor(workers or plan.workers) as pool,
            progress(len(todo), f"migrate -> {store.url}") as advance,
        ):
            futures = {pool.submit(_copy_one, store, it): it for it in todo}
            for fut in as_completed(futures):
                it = futures[fut]
                try:
                    e = fut.result()
                except CloudError as err:
                    res.failed.append(f"{it.bucket}/{it.key}: {err}")
                    advance(1)
                    continue
                with lock:
                    journal.write(json.dumps(e) + "\n")
                    journal.flush()
                store.record_copy(e["dst"], e["sha256"], e["size"])
                res.copied += 1
                advance(1)
    if res.failed:
        raise CloudError(
            f"{len(res.failed)} of {len(todo)} copies failed (first: {res.failed[0]}); nothing was deleted. "
            f"Rerun the same command: the {res.copied + len(res.skip)} verified copies are skipped"
        )
    if delete_source:
        res.deleted = _delete_sources(store.client, items, read_journal(jpath))
    return res


def _delete_sources(s3: Any, items: list[Item], done: dict[tuple[str, str], Any]) -> int:
    """Delete sources only when every object of the plan has a verified copy in the journal."""
    missing = [it for it in items if (f"{it.bucket}/{it.key}", it.etag) not in done]
    if missing:
        raise CloudError(
            f"{len(missing)} source object(s) have no verified copy (e.g. {missing[0].key}); nothing deleted"
        )
    n = 0
    by_bucket: dict[str, list[str]] = {}
    for it in items:
        by_bucket.setdefault(it.bucket, []).append(it.key)
    for bucket, keys in by_bucket.items():
        for i in range(0, len(keys), 1000):
            with aws_errors(f"delete sources in s3://{bucket}"):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]})
            n += len(keys[i : i + 1000])
    return n
