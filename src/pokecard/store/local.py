"""``LocalStore``: a project root in a local folder; writes are atomic (temp file + rename)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pokecard import atomic, layout
from pokecard.errors import ObjectNotFound
from pokecard.store.base import CHUNK, Store
from pokecard.store.reports import ObjectInfo


class LocalStore(Store):
    """A project root in a local folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__()
        self.root = Path(root).expanduser().resolve()
        self.url = f"{self.root}/"

    def path(self, key: str) -> Path:
        """The local path of a key (for readers that need a file, e.g. ONNX Runtime)."""
        return self.root / layout.validate_key(key)

    def local_path(self, key: str) -> Path:
        """The object in place: no copy for a local root."""
        p = self.path(key)
        if not p.is_file():
            raise ObjectNotFound(f"{self.url}{key} does not exist")
        return p

    def _put_file(self, key: str, path: Path) -> None:
        with atomic.atomic_open(self.root / key, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK)

    def _put_bytes(self, key: str, data: bytes) -> None:
        atomic.write_bytes(self.root / key, data)

    def _get_to(self, key: str, dest: Path) -> None:
        src = self.root / key
        if not src.is_file():
            raise ObjectNotFound(f"{src} does not exist (key {key!r} under root {self.root})")
        shutil.copyfile(src, dest)

    def _exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        base = self.root
        for p in base.rglob("*"):
            if p.is_file() and not p.name.startswith("."):
                k = p.relative_to(base).as_posix()
                if k.startswith(prefix):
                    yield ObjectInfo(k, p.stat().st_size)

    def _delete(self, key: str) -> None:
        (self.root / key).unlink()

    def _list_detailed(self, prefix: str) -> Iterator[dict[str, Any]]:
        for o in self._list(prefix):
            st = (self.root / o.key).stat()
            yield {
                "key": o.key,
                "size": o.size,
                "etag": None,
                "last_modified": st.st_mtime,
                "storage_class": "STANDARD",
            }
