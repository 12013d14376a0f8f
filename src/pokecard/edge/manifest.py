"""The bundle manifest: sha256 and size of every file. Standard library only, because the
same file is piped to the target's plain ``python3`` to verify an unpacked release before
anything of pokecard is installed there (``python3 - DIR < manifest.py``)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

MANIFEST = "bundle.json"
FORMAT = "pokecard-bundle/1"
SKIP_DIRS = ("venv",)  # made on the target after the check; never part of the bundle


def sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_tree(root: Path) -> dict[str, dict[str, object]]:
    """``{relative posix path: {sha256, size}}`` of every file under ``root`` but the manifest."""
    out: dict[str, dict[str, object]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if rel == MANIFEST:
                continue
            p = Path(dirpath) / name
            out[rel] = {"sha256": sha256_path(p), "size": p.stat().st_size}
    return dict(sorted(out.items()))


def check_tree(root: Path) -> list[str]:
    """Problems of an unpacked bundle against its manifest (empty: it is intact)."""
    mpath = root / MANIFEST
    try:
        man = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"{mpath}: no readable bundle manifest ({e})"]
    if not isinstance(man, dict) or man.get("format") != FORMAT:
        return [f"{mpath}: not a {FORMAT} manifest"]
    want = man.get("files") or {}
    have = hash_tree(root)
    problems = []
    for rel, rec in want.items():
        got = have.get(rel)
        if got is None:
            problems.append(f"{rel}: missing")
        elif got["size"] != rec.get("size"):
            problems.append(f"{rel}: {got['size']} bytes, the manifest says {rec.get('size')}")
        elif got["sha256"] != rec.get("sha256"):
            problems.append(
                f"{rel}: sha256 {str(got['sha256'])[:12]}..., the manifest says {str(rec.get('sha256'))[:12]}..."
            )
    problems += [f"{rel}: not in the manifest" for rel in have if rel not in want]
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 manifest.py UNPACKED_BUNDLE_DIR")
    found = check_tree(Path(sys.argv[1]))
    if found:
        print(f"bundle check failed in {sys.argv[1]}: {len(found)} problem(s): " + "; ".join(found[:5]))
        sys.exit(1)
    print(f"bundle check ok: {sys.argv[1]}")
