"""Fixtures for the web app: a small training-free root (no model), simulated photos of its
cards as JPEG bytes, the app under the ASGI test client, and a real uvicorn server."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

N_CARDS = 8


@pytest.fixture(scope="session")
def serve_catalog(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from pokecard.catalog import synth_catalog

    return synth_catalog(N_CARDS, tmp_path_factory.mktemp("synth"), seed=5)


@pytest.fixture(scope="session")
def base_root(serve_catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """Catalogue built and a training-free reference DB (shared read-only; copy to write)."""
    from pokecard.catalog import build_catalog
    from pokecard.reference.build import build_reference

    root = tmp_path_factory.mktemp("serve-root")
    build_catalog(serve_catalog, root)
    build_reference(root, None, progress=False, calibration_photos=N_CARDS)
    return root


@pytest.fixture
def root(base_root: Path, tmp_path: Path) -> Path:
    """A private copy of the root (its own collection database)."""
    return Path(shutil.copytree(base_root, tmp_path / "root"))


def photo_rgb(catalog, i: int, k: int = 0) -> np.ndarray:  # noqa: ANN001
    """A held-out simulated phone photo of card ``i``."""
    from pokecard.photo import PhotoConfig, eval_seed, simulate_scene

    photo, _ = simulate_scene(catalog.load_image(catalog.cards[i]), eval_seed(i, k), PhotoConfig.eval())
    return photo


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="session")
def photos(serve_catalog) -> dict[str, bytes]:  # noqa: ANN001
    """card_id -> JPEG bytes of one held-out photo, for the first 4 cards."""
    return {serve_catalog.cards[i].card_id: jpeg(photo_rgb(serve_catalog, i)) for i in range(4)}


@pytest.fixture(scope="session")
def shared_service(base_root: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One loaded recognizer for the API tests (loading it per test would dominate the time)."""
    from pokecard.serve.service import Service

    r = Path(shutil.copytree(base_root, tmp_path_factory.mktemp("svc") / "root"))
    svc = Service(r)
    yield svc
    svc.close()


@pytest.fixture
def service(shared_service, tmp_path: Path):  # noqa: ANN001, ANN201
    """The shared recognizer with a fresh, empty collection database for this test."""
    from pokecard.collection import CollectionDB

    old = shared_service.db
    shared_service.db = CollectionDB(tmp_path / "collection.sqlite")
    yield shared_service
    shared_service.db.close()
    shared_service.db = old


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`pokecard serve` in a child process on loopback."""

    def __init__(self, root: Path, port: int, host: str = "127.0.0.1", *extra: str) -> None:
        self.root, self.port, self.host = root, port, host
        self.url = f"http://127.0.0.1:{port}/"
        self.log = root.parent / f"serve-{port}.log"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pokecard",
                "serve",
                "--root",
                str(root),
                "--host",
                host,
                "--port",
                str(port),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "wb"),  # noqa: SIM115 - the child keeps it open
            env=env,
        )
        self._wait()

    def _wait(self, timeout: float = 120) -> None:
        import urllib.error
        import urllib.request

        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pokecard serve exited: {self.log.read_text()}")
            try:
                urllib.request.urlopen(self.url + "api/info", timeout=2)  # noqa: S310 - loopback
                return
            except urllib.error.HTTPError:
                return  # answering (e.g. 401 without the token)
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"pokecard serve did not answer in {timeout} s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(root: Path) -> Iterator[Server]:
    s = Server(root, free_port())
    yield s
    s.stop()


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG that declares w x h pixels with almost no data (a decompression-bomb header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def bad_files(good_jpeg: bytes) -> dict[str, tuple[bytes, str]]:
    """The recognizer's bad inputs as uploads: file name -> (bytes, words its message must hold)."""
    from PIL import Image

    tiny = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(tiny, "PNG")
    return {
        "empty.jpg": (b"", "empty"),
        "text.jpg": (b"hello, not a photo\n" * 20, "not an image"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) // 3], "truncated"),
        "bomb.png": (_png_header_only(20000, 20000), "before decoding"),
        "tiny.png": (tiny.getvalue(), "too small"),
    }
