"""Write a reference DB so that a reader never sees a half-written one.

Local root: the files go to a hidden folder beside ``data/reference/`` and the two folders
are exchanged in one step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, with
a moment where there is no DB rather than a mixed one). A reader that loaded the old DB keeps
its open, memory-mapped files. Other stores: the manifest is removed first and written last,
so a DB without a manifest is never read as one.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.arrays import save_npz
from pokecard.store import LocalStore, Store, sha256_file

log = logging.getLogger(__name__)
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def publish(
    st: Store,
    emb: np.ndarray,
    index: Any,
    ids: list[str],
    sources: list[str],
    cards: list[dict[str, Any]],
    keypoints: dict[str, np.ndarray],
    manifest: dict[str, Any],
) -> None:
    """Write the six files of the DB (manifest last, with every file's sha256 in ``files``)."""
    stage_parent = st.path(layout.REFERENCE).parent if isinstance(st, LocalStore) else None
    if stage_parent is not None:
        stage_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=stage_parent, prefix=".reference-new-") as d:
        stage = Path(d)
        stage.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would become the DB folder's mode
        np.save(stage / "embeddings.npy", emb, allow_pickle=False)
        index.save(str(stage / "usearch.index"))
        _json(stage / "index.json", {"card_ids": ids, "sources": sources})
        _json(stage / "metadata.json", {"cards": cards})
        save_npz(stage / "keypoints.npz", **keypoints)
        keys = {
            layout.REFERENCE_EMBEDDINGS: "embeddings.npy",
            layout.REFERENCE_USEARCH: "usearch.index",
            layout.REFERENCE_INDEX: "index.json",
            layout.REFERENCE_METADATA: "metadata.json",
            layout.REFERENCE_KEYPOINTS: "keypoints.npz",
        }
        shas = {k: sha256_file(stage / name) for k, name in keys.items()}
        manifest["files"] = dict(shas)
        _json(stage / "manifest.json", manifest)
        keys[layout.REFERENCE_MANIFEST] = "manifest.json"
        shas[layout.REFERENCE_MANIFEST] = sha256_file(stage / "manifest.json")
        if isinstance(st, LocalStore):
            _switch(stage, st.path(layout.REFERENCE))
            with st.batch():
                for k in keys:
                    st.record_copy(k, shas[k], (st.path(k)).stat().st_size)
            return
        with st.batch():
            if st.exists(layout.REFERENCE_MANIFEST):
                st.delete(layout.REFERENCE_MANIFEST, dry_run=False)
            for k, name in keys.items():
                if k != layout.REFERENCE_MANIFEST:
                    st.put_file(k, stage / name)
            st.put_file(layout.REFERENCE_MANIFEST, stage / "manifest.json")


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _switch(stage: Path, final: Path) -> None:
    """Put ``stage`` in place of ``final`` at once; the old DB ends in ``stage`` (removed with it)."""
    for p in stage.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    if not final.exists():
        os.rename(stage, final)
        stage.mkdir()  # the temporary folder's context removes it
        return
    if _exchange(stage, final):
        return
    log.info("no atomic folder exchange here: switching %s with two renames", final)
    old = final.with_name(f".reference-old-{os.getpid()}")
    os.rename(final, old)
    os.rename(stage, final)
    os.rename(old, stage)


def _exchange(a: Path, b: Path) -> bool:
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0
    return False
