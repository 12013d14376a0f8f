"""The store's contract: the abstract ``Store`` (manifest, verified reads, sync, verify) and
the sha256 helpers; what it returns is in pokecard.store.reports.

Every object written through a store gets its sha256 and size recorded in
``metadata/project_manifest.json``; reads are verified against it, and a download whose
bytes do not match is deleted, never left in place. Writes outside the layout are refused
unless forced. ``sync`` is a dry run unless ``apply=True`` and deletes nothing without
``delete=True``. Backends (pokecard.store.local, pokecard.store.s3) implement the raw
``_`` primitives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pokecard import __version__, layout
from pokecard.errors import ChecksumMismatch, ObjectNotFound, StoreError
from pokecard.progress import progress
from pokecard.store.reports import ObjectInfo, SyncPlan, VerifyReport

# The logger keeps the name it had before the package split, so log filters still match.
log = logging.getLogger("pokecard.store")
CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store(ABC):
    """Abstract store; subclasses implement the raw ``_`` primitives on keys."""

    url: str

    def __init__(self) -> None:
        self._manifest: dict[str, Any] | None = None
        self._batch_depth = 0
        self._dirty = False

    # -- raw primitives -------------------------------------------------------------
    @abstractmethod
    def _put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def _get_to(self, key: str, dest: Path) -> None: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[ObjectInfo]: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    def _put_bytes(self, key: str, data: bytes) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "obj"
            p.write_bytes(data)
            self._put_file(key, p)

    # -- manifest -------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            m: dict[str, Any] = {}
            if self._exists(layout.PROJECT_MANIFEST):
                with tempfile.TemporaryDirectory() as d:
                    p = Path(d) / "m.json"
                    self._get_to(layout.PROJECT_MANIFEST, p)
                    try:
                        m = json.loads(p.read_text())
                    except json.JSONDecodeError as e:
                        raise StoreError(
                            f"{self.url}{layout.PROJECT_MANIFEST} is corrupt ({e}); restore it from a bucket "
                            "version or rebuild it with `pokecard store verify --rebuild-manifest`"
                        ) from e
            m.setdefault("project", "pokemon-card-recognition")
            m.setdefault("objects", {})
            self._manifest = m
        return self._manifest

    def recorded(self, key: str) -> dict[str, Any] | None:
        return self.manifest()["objects"].get(layout.validate_key(key))

    def _record(self, key: str, sha: str, size: int) -> None:
        self.manifest()["objects"][key] = {"sha256": sha, "size": size, "updated": _now()}
        self._dirty = True
        if self._batch_depth == 0:
            self._flush_manifest()

    def _forget(self, key: str) -> None:
        if self.manifest()["objects"].pop(key, None) is not None:
            self._dirty = True
            if self._batch_depth == 0:
                self._flush_manifest()

    def _flush_manifest(self) -> None:
        if not self._dirty:
            return
        m = self.manifest()
        m["updated"] = _now()
        m["code_version"] = __version__
        data = (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()
        self._put_bytes(layout.PROJECT_MANIFEST, data)
        self._dirty = False

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Defer manifest writes to the end of a block of puts (one write, not one per object)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._flush_manifest()

    # -- public API -----------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, *, force: bool = False) -> str:
        k = layout.check_writable(key, force)
        self._put_bytes(k, data)
        sha = sha256_bytes(data)
        self._record(k, sha, len(data))
        return sha

    def put_json(self, key: str, obj: Any, *, force: bool = False) -> str:
        return self.put_bytes(
            key, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode(), force=force
        )

    def put_file(self, key: str, path: str | os.PathLike[str], *, force: bool = False) -> str:
        k = layout.check_writable(key, force)
        p = Path(path)
        if not p.is_file():
            raise StoreError(f"{p}: not a file, nothing to upload")
        sha = sha256_file(p)
        self._put_file(k, p)
        self._record(k, sha, p.stat().st_size)
        return sha

    def exists(self, key: str) -> bool:
        return self._exists(layout.validate_key(key))

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        p = layout.validate_key(prefix) if prefix.strip("/") else ""
        return sorted(self._list(p), key=lambda o: o.key)

    def get_file(self, key: str, dest: str | os.PathLike[str], *, verify: bool = True) -> Path:
        """Download ``key`` to ``dest`` atomically; verify sha256 against the manifest."""
        k = layout.validate_key(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            self._get_to(k, tmp)
            rec = self.recorded(k) if verify and k != layout.PROJECT_MANIFEST else None
            if rec is not None:
                got = sha256_file(tmp)
                if got != rec["sha256"]:
                    raise ChecksumMismatch(
                        f"{self.url}{k}: checksum mismatch (expected sha256 {rec['sha256'][:12]}..., "
                        f"got {got[:12]}...); the object changed after it was written. The download was "
                        "discarded; re-upload it or restore a previous version."
                    )
            elif verify and k != layout.PROJECT_MANIFEST:
                log.warning("%s%s has no checksum in the manifest; not verified", self.url, k)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return dest

    def local_path(self, key: str) -> Path:
        """A local file holding ``key`` (for readers that need a path, e.g. ONNX Runtime or
        usearch): a verified download into the object cache, keyed by the recorded sha256."""
        rec = self.recorded(key) or {}
        cache = Path(os.environ.get("POKECARD_CACHE", Path.home() / ".cache" / "pokecard")) / "objects"
        name = rec.get("sha256") or hashlib.sha256(f"{self.url}{key}".encode()).hexdigest()
        dest = cache / name / Path(key).name
        if not dest.is_file():
            self.get_file(key, dest)
        return dest

    def get_bytes(self, key: str, *, verify: bool = True) -> bytes:
        with tempfile.TemporaryDirectory() as d:
            return self.get_file(key, Path(d) / "obj", verify=verify).read_bytes()

    def get_json(self, key: str, *, verify: bool = True) -> Any:
        k = layout.validate_key(key)
        data = self.get_bytes(k, verify=verify)
        try:
            return json.loads(data)
        except json.JSONDecodeError as e:
            raise StoreError(f"{self.url}{k}: not valid JSON ({e})") from e

    def delete(self, key: str, *, dry_run: bool = True) -> bool:
        """Delete one object. Dry run by default: returns whether it exists (would be deleted)."""
        k = layout.validate_key(key)
        if not self._exists(k):
            raise ObjectNotFound(f"{self.url}{k} does not exist; nothing to delete")
        if dry_run:
            return True
        self._delete(k)
        self._forget(k)
        return True

    # -- folders ----------------------------------------------------------------------
    def push(self, local_dir: str | os.PathLike[str], prefix: str, *, force: bool = False) -> SyncPlan:
        """Upload every file under ``local_dir`` to ``prefix``; unchanged files are skipped."""
        return self.sync_up(local_dir, prefix, apply=True, delete=False, force=force)

    def pull(self, prefix: str, local_dir: str | os.PathLike[str], *, verify: bool = True) -> SyncPlan:
        return self.sync_down(prefix, local_dir, apply=True, delete=False, verify=verify)

    def sync_up(
        self,
        local_dir: str | os.PathLike[str],
        prefix: str,
        *,
        apply: bool = False,
        delete: bool = False,
        force: bool = False,
    ) -> SyncPlan:
        src = Path(local_dir)
        if not src.is_dir():
            raise StoreError(f"{src}: not a folder")
        pfx = layout.validate_key(prefix)
        files = sorted(p for p in src.rglob("*") if p.is_file())
        plan = SyncPlan(str(src), f"{self.url}{pfx}/")
        local_keys: dict[str, Path] = {}
        for p in files:
            key = f"{pfx}/{p.relative_to(src).as_posix()}"
            layout.check_writable(key, force)
            local_keys[key] = p
        remote = {o.key for o in self._list(pfx + "/")}
        with progress(len(files), "hashing") as advance:
            for key, p in local_keys.items():
                rec = self.recorded(key)
                if key in remote and rec is not None and rec["sha256"] == sha256_file(p):
                    plan.unchanged.append(key)
                else:
                    plan.copy.append(key)
                advance(1)
        if delete:
            plan.delete = sorted(k for k in remote if k not in local_keys and k != layout.PROJECT_MANIFEST)
        if apply:
            with (
                self.batch(),
                progress(len(plan.copy) + len(plan.delete), f"push -> {self.url}{pfx}") as advance,
            ):
                for key in plan.copy:
                    self.put_file(key, local_keys[key], force=force)
                    advance(1)
                for key in plan.delete:
                    self._delete(key)
                    self._forget(key)
                    advance(1)
            plan.applied = True
        return plan

    def sync_down(
        self,
        prefix: str,
        local_dir: str | os.PathLike[str],
        *,
        apply: bool = False,
        delete: bool = False,
        verify: bool = True,
    ) -> SyncPlan:
        pfx = layout.validate_key(prefix)
        dst = Path(local_dir)
        remote = [o for o in self._list(pfx + "/") if o.key != layout.PROJECT_MANIFEST]
        if not remote and not self._exists(pfx):
            raise ObjectNotFound(
                f"{self.url}{pfx}/ has no objects; check the prefix with `pokecard store ls`"
            )
        plan = SyncPlan(f"{self.url}{pfx}/", str(dst))
        remote_rel = {}
        for o in remote:
            rel = o.key[len(pfx) + 1 :]
            remote_rel[rel] = o.key
            target = dst / rel
            rec = self.recorded(o.key)
            if target.is_file() and rec is not None and rec["sha256"] == sha256_file(target):
                plan.unchanged.append(o.key)
            else:
                plan.copy.append(o.key)
        if delete and dst.is_dir():
            plan.delete = sorted(
                str(p)
                for p in dst.rglob("*")
                if p.is_file() and p.relative_to(dst).as_posix() not in remote_rel
            )
        if apply:
            with progress(len(plan.copy), f"pull <- {self.url}{pfx}") as advance:
                for key in plan.copy:
                    self.get_file(key, dst / key[len(pfx) + 1 :], verify=verify)
                    advance(1)
            for p in plan.delete:
                Path(p).unlink()
            plan.applied = True
        return plan

    def verify(self, prefix: str = "") -> VerifyReport:
        """Re-read every recorded object under ``prefix`` and compare its sha256."""
        pfx = layout.validate_key(prefix) if prefix.strip("/") else ""
        rep = VerifyReport()
        objects = self.manifest()["objects"]
        present = {o.key for o in self._list(pfx)}
        keys = sorted(k for k in objects if k.startswith(pfx))
        with progress(len(keys), "verify") as advance, tempfile.TemporaryDirectory() as d:
            for k in keys:
                if k not in present:
                    rep.missing.append(k)
                else:
                    tmp = Path(d) / "obj"
                    self._get_to(k, tmp)
                    (rep.ok if sha256_file(tmp) == objects[k]["sha256"] else rep.mismatched).append(k)
                advance(1)
        rep.unrecorded = sorted(k for k in present if k not in objects and k != layout.PROJECT_MANIFEST)
        return rep

    # -- listing with details (issue 14: verify, migrate, costs) -----------------------
    def list_detailed(self, prefix: str = "") -> list[dict[str, Any]]:
        """Objects under ``prefix`` with key, size, etag, last_modified (epoch s) and storage_class
        where the backend has them (a local folder has no etag and is all STANDARD)."""
        p = layout.validate_key(prefix) if prefix.strip("/") else ""
        return sorted(self._list_detailed(p), key=lambda o: o["key"])

    def _list_detailed(self, prefix: str) -> Iterator[dict[str, Any]]:
        for o in self._list(prefix):
            yield {
                "key": o.key,
                "size": o.size,
                "etag": None,
                "last_modified": None,
                "storage_class": "STANDARD",
            }

    def read_raw(self, key: str, dest: str | os.PathLike[str]) -> None:
        """Download ``key`` to ``dest`` as stored, without the manifest check (for re-hashing)."""
        self._get_to(layout.validate_key(key), Path(dest))

    def record_copy(self, key: str, sha256: str, size: int) -> None:
        """Record an object written outside ``put_*`` (a server-side copy, a version restore) in the
        manifest; the caller has verified its bytes. Batched like puts inside ``batch()``."""
        self._record(layout.check_writable(key), sha256, size)

    def forget(self, key: str) -> None:
        """Drop a key from the manifest (an object deleted outside ``delete``, e.g. by a restore)."""
        self._forget(layout.validate_key(key))

    def reload_manifest(self) -> None:
        """Read the manifest again on next use (it was replaced in the store, e.g. by a restore)."""
        self._manifest = None
