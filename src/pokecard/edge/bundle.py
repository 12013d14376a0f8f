"""`pokecard bundle`: one archive with everything a Pi needs, checked file by file.

Inside (all paths relative to the archive root)::

    bundle.json                  manifest: sha256 + size of every other file, model, versions
    root/                        a small project root: data/reference/ + the model that built it
    selftest/expected.json       simulated photos of catalogue cards and the card each shows
    selftest/*.jpg
    config.json                  backend, camera source, vote settings, latency bound
    systemd/pokecard-live.service
    requirements-pi.txt          the core dependencies only (no torch)
    wheels/pokecard-*.whl        this package

A bundle whose reference DB was built by another model than the one it carries is refused
here, before it can reach a device.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pokecard import __version__, atomic, layout
from pokecard.catalog.build import load_processed
from pokecard.edge import manifest as bm
from pokecard.edge.errors import BundleError
from pokecard.errors import PokecardError, ReferenceDBError
from pokecard.model_files import resolve_model
from pokecard.modelcard import ModelCard, card_path_for
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene
from pokecard.store import Store, open_store, sha256_file

log = logging.getLogger(__name__)

ROOT_DIR = "root"
SELFTEST_DIR = "selftest"
EXPECTED = "selftest/expected.json"
CONFIG = "config.json"
UNIT = "systemd/pokecard-live.service"
REQUIREMENTS = "requirements-pi.txt"
WHEELS = "wheels"
BUNDLE_VERSION = "v1"  # the model's version folder inside the bundle's root
DEFAULT_MAX_MS = 2000.0  # selftest bound per photo: a Pi 5 CPU runs the default path in ~0.3 s


@dataclass
class BundleInfo:
    path: Path
    files: int
    size: int
    sha256: str
    manifest: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "size": self.size, "sha256": self.sha256}


def core_requirements() -> list[str]:
    """The package's core dependencies (no extras): what the Pi installs besides apt's packages."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        reqs = requires("pokecard") or []
    except PackageNotFoundError:
        return []
    return sorted(r for r in reqs if "extra ==" not in r)


def source_tree() -> Path | None:
    """The project folder holding pyproject.toml when pokecard runs from a checkout."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "pyproject.toml").is_file() and (here / "src" / "pokecard").is_dir() else None


def build_wheel(out_dir: Path) -> Path:
    """Build this package's wheel (no dependencies) from the source checkout."""
    src = source_tree()
    if src is None:
        raise BundleError(
            "cannot build the pokecard wheel: not running from a source checkout; pass --wheel FILE"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(out_dir),
        str(src),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(out_dir.glob("pokecard-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise BundleError(
            f"building the pokecard wheel failed: {(proc.stderr or proc.stdout).strip()[-400:]}"
        )
    return wheels[-1]


def _check_model(db_model: dict[str, Any], model_path: Path) -> None:
    """Refuse a model other than the one that built the DB (identity and file sha256)."""
    try:
        card = ModelCard.load(card_path_for(model_path))
    except PokecardError as e:
        raise BundleError(f"{model_path}: no usable model card beside it ({e})") from e
    want = db_model.get("identity") or {}
    if card.identity() != want:
        diff = [k for k in card.identity() if card.identity().get(k) != want.get(k)]
        raise BundleError(
            f"refusing to bundle: the reference DB was built by another model than {model_path} "
            f"(differs in {', '.join(diff)}); rebuild it with `pokecard index build --model {model_path}`"
        )
    if db_model.get("sha256") and sha256_file(model_path) != db_model["sha256"]:
        raise BundleError(
            f"refusing to bundle: the reference DB was built by a model with sha256 {db_model['sha256'][:12]}..., "
            f"not {model_path} ({sha256_file(model_path)[:12]}...); rebuild it with `pokecard index build --model {model_path}`"
        )


def _selftest_photos(st: Store, folder: Path, n: int, max_ms: float) -> dict[str, Any]:
    """``n`` held-out simulated photos of catalogue cards, spread over the catalogue."""
    from PIL import Image

    cat = load_processed(st)
    if not cat.cards:
        raise BundleError(f"{st.url}: the built catalogue is empty; the self-test needs photos of its cards")
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    step = max(1, len(cat.cards) // max(1, n))
    for j in range(min(n, len(cat.cards))):
        i = j * step
        card = cat.cards[i]
        rgb, _ = simulate_scene(cat.load_image(card), eval_seed(i, 900 + j), PhotoConfig.eval())
        name = f"photo_{j:02d}.jpg"
        Image.fromarray(rgb).save(folder / name, quality=92)
        photos.append({"file": name, "card_id": card.card_id})
    return {"photos": photos, "max_ms": max_ms}


def _stage_root(st: Store, dest: Path, model: str | None) -> dict[str, Any]:
    """Copy the reference DB (and its model, re-keyed into the bundle) into ``dest``."""
    if not st.exists(layout.REFERENCE_MANIFEST):
        raise ReferenceDBError(
            f"{st.url}{layout.REFERENCE}: no reference DB; run `pokecard index build` first"
        )
    ref = st.get_json(layout.REFERENCE_MANIFEST)
    out = open_store(str(dest))
    info: dict[str, Any] = {"mode": ref.get("mode"), "count": ref.get("count")}
    with tempfile.TemporaryDirectory() as tmp:
        for obj in st.list(layout.REFERENCE):
            if obj.key == layout.REFERENCE_MANIFEST:
                continue
            local = Path(tmp) / obj.key.replace("/", "_")
            st.get_file(obj.key, local)
            out.put_file(obj.key, local)
    if ref.get("mode") == "embedding":
        db_model = ref.get("model") or {}
        where = model or db_model.get("key") or db_model.get("path")
        try:
            resolved = resolve_model(st, where)
        except PokecardError as e:
            raise BundleError(f"the reference DB's model {where} is not available ({e})") from e
        if resolved is None:
            raise BundleError(f"{st.url}: the reference DB names no model")
        _check_model(db_model, resolved.path)
        key = layout.student_onnx(BUNDLE_VERSION)
        card_key = layout.model_card(layout.student_dir(BUNDLE_VERSION))
        out.put_file(key, resolved.path)
        out.put_file(card_key, resolved.path.with_name(layout.MODEL_CARD))
        # a HEF compiled from this student travels with it, for the Hailo backend
        if resolved.key and "/" in resolved.key:
            version = resolved.key.rsplit("/", 2)[-2]
            for k in (layout.hailo_hef(version), layout.model_card(layout.hailo_dir(version))):
                if st.exists(k):
                    with tempfile.TemporaryDirectory() as tmp:
                        st.get_file(k, Path(tmp) / "f")
                        out.put_file(k.replace(f"/{version}/", f"/{BUNDLE_VERSION}/"), Path(tmp) / "f")
        ref = {**ref, "model": {**db_model, "key": key, "path": None}}
        info["model"] = {"key": key, "sha256": db_model.get("sha256"), "identity": db_model.get("identity")}
    elif model:
        raise BundleError("the reference DB is training-free: it takes no --model")
    out.put_json(layout.REFERENCE_MANIFEST, ref)
    return info


def make_bundle(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | None = None,
    wheel: str | os.PathLike[str] | None = None,
    selftest_photos: int = 3,
    max_ms: float = DEFAULT_MAX_MS,
    backend: str = "auto",
    source: str = "picamera2",
) -> BundleInfo:
    """Write the bundle archive ``out`` atomically from the project root ``root``."""
    st = open_store(str(root))
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="pokecard-bundle-") as tmp:
        stage = Path(tmp) / "b"
        info = _stage_root(st, stage / ROOT_DIR, model)
        expected = _selftest_photos(st, stage / SELFTEST_DIR, selftest_photos, max_ms)
        atomic.write_json(stage / EXPECTED, expected)
        config = {"backend": backend, "source": source, "vote_k": 5, "vote_min": 3}
        atomic.write_json(stage / CONFIG, config)
        unit = (Path(__file__).with_name("pokecard-live.service")).read_text(encoding="utf-8")
        atomic.write_text(stage / UNIT, unit)
        atomic.write_text(stage / REQUIREMENTS, "\n".join(core_requirements()) + "\n")
        whl = Path(wheel) if wheel else build_wheel(Path(tmp) / "wheel")
        if not whl.is_file() or whl.suffix != ".whl":
            raise BundleError(f"{whl}: not a wheel file")
        (stage / WHEELS).mkdir()
        shutil.copy2(whl, stage / WHEELS / whl.name)
        return pack(stage, out, {"reference": info, "wheel": f"{WHEELS}/{whl.name}"})


def pack(stage: str | os.PathLike[str], out: str | os.PathLike[str], meta: dict[str, Any]) -> BundleInfo:
    """Write ``stage``'s manifest (sha256 + size of every file, plus ``meta``) and archive it
    atomically as ``out``."""
    stage, out = Path(stage), Path(out)
    files = bm.hash_tree(stage)
    man = {
        "format": bm.FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "pokecard_version": __version__,
        **meta,
        "files": files,
    }
    (stage / bm.MANIFEST).write_text(json.dumps(man, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with atomic.atomic_open(out, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        for p in sorted(stage.rglob("*")):
            tar.add(p, arcname=p.relative_to(stage).as_posix(), recursive=False)
    size = out.stat().st_size
    log.info("wrote %s (%d files + manifest, %d bytes)", out, len(files), size)
    return BundleInfo(out, len(files), size, sha256_file(out), man)


def _safe_members(tar: tarfile.TarFile, where: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        parts = Path(m.name).parts
        if m.name.startswith("/") or ".." in parts:
            raise BundleError(f"{where}: member {m.name!r} points outside the bundle")
        if not (m.isfile() or m.isdir()):
            raise BundleError(
                f"{where}: member {m.name!r} is a link or device; bundles hold plain files only"
            )
    return members


def unpack(path: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Extract a bundle into ``dest`` (which must not exist) and check every file."""
    path, dest = Path(path), Path(dest)
    if dest.exists():
        raise BundleError(f"{dest}: already exists; unpack into a new folder")
    try:
        with tarfile.open(path, "r:*") as tar:
            tar.extractall(dest, members=_safe_members(tar, path), filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BundleError(f"{path}: not a readable bundle archive ({e})") from e
    problems = bm.check_tree(dest)
    if problems:
        raise BundleError(
            f"{path}: {len(problems)} file(s) do not match the manifest: {'; '.join(problems[:5])}"
        )
    return dest


def verify_bundle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Unpack into a temporary folder and check it; returns the manifest."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle file")
    with tempfile.TemporaryDirectory(prefix="pokecard-verify-") as tmp:
        d = unpack(path, Path(tmp) / "b")
        return json.loads((d / bm.MANIFEST).read_text(encoding="utf-8"))
