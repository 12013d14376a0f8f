"""The camera loop: frames -> sharpness/motion gate -> recognize -> vote -> one JSON line
per stable card change.

Sources: ``picamera2`` (the Pi camera, Picamera2 from apt's python3-picamera2),
``opencv:N`` (a V4L2/USB camera), a video file, or a folder of images. Cameras that drop out
are reopened with exponential backoff; a video or folder ends the loop at its end.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pokecard.edge.errors import SourceError
from pokecard.edge.vote import CardChange, CardVote
from pokecard.errors import MissingDependency
from pokecard.imageio import load_rgb

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CSV_FIELDS = (
    "card_id",
    "name",
    "set",
    "number",
    "score",
    "file",
    "time",
)  # the collection CSV of `recognize --csv`


class Source(Protocol):
    live: bool  # a camera (reopen on failure) rather than a finite file

    def read(self) -> np.ndarray | None:
        """The next RGB frame; None at the end of a file source; SourceError on a dropout."""

    def close(self) -> None: ...


class OpenCVSource:
    def __init__(self, target: int | str) -> None:
        import cv2

        self.live = isinstance(target, int)
        self.name = f"opencv:{target}" if self.live else str(target)
        self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            raise SourceError(f"{self.name}: cannot open (no such camera or not a video OpenCV can read)")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def read(self) -> np.ndarray | None:
        import cv2

        ok, bgr = self.cap.read()
        if not ok:
            if self.live:
                raise SourceError(f"{self.name}: the camera stopped delivering frames")
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.cap.release()


class FolderSource:
    live = False

    def __init__(self, folder: Path) -> None:
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        self.i = 0
        self.fps = 0.0

    def read(self) -> np.ndarray | None:
        if self.i >= len(self.files):
            return None
        self.i += 1
        return load_rgb(self.files[self.i - 1])

    def close(self) -> None:
        return None


class PiCameraSource:
    """Picamera2's documented still/video flow: configure, start, capture_array."""

    live = True

    def __init__(self, size: tuple[int, int] = (1280, 960)) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as e:
            raise MissingDependency(
                "picamera2 is not installed: on Raspberry Pi OS `sudo apt install python3-picamera2` and use a venv "
                "made with --system-site-packages (pokecard deploy does); elsewhere use --source opencv:0"
            ) from e
        try:
            self.cam = Picamera2()
            # "RGB888" is libcamera's BGR byte order in memory; converted in read()
            self.cam.configure(self.cam.create_video_configuration(main={"size": size, "format": "RGB888"}))
            self.cam.start()
        except Exception as e:  # libcamera raises RuntimeError and friends
            raise SourceError(f"picamera2: cannot start the camera ({e})") from e
        self.fps = 0.0

    def read(self) -> np.ndarray | None:
        try:
            bgr = self.cam.capture_array("main")
        except Exception as e:
            raise SourceError(f"picamera2: capture failed ({e})") from e
        return np.ascontiguousarray(bgr[..., ::-1])

    def close(self) -> None:
        try:
            self.cam.stop()
            self.cam.close()
        except Exception as e:
            log.debug("picamera2 close: %s", e)


def open_source(spec: str) -> Source:
    """``picamera2`` | ``opencv:N`` | a video file | a folder of images."""
    if spec == "picamera2":
        return PiCameraSource()
    if spec.startswith("opencv:"):
        idx = spec.split(":", 1)[1]
        if not idx.isdigit():
            raise SourceError(f"--source {spec}: give a camera index, e.g. opencv:0")
        return OpenCVSource(int(idx))
    p = Path(spec)
    if p.is_dir():
        return FolderSource(p)
    if p.is_file():
        return OpenCVSource(str(p))
    raise SourceError(f"--source {spec}: not picamera2, opencv:N, a video file or a folder")


@dataclass
class Gate:
    """Skip frames not worth recognizing: blurred (variance of the Laplacian) or moving
    (mean absolute difference from the previous frame), both on a small grey copy."""

    min_sharpness: float = (
        120.0  # simulated 960x720 photos: sharp >= 480, Gaussian blur sigma 3 <= 85 (docs/edge.md)
    )
    max_motion: float = 12.0
    side: int = 320
    _prev: np.ndarray | None = field(default=None, init=False, repr=False)

    def check(self, rgb: np.ndarray) -> tuple[bool, float, float]:
        import cv2

        h, w = rgb.shape[:2]
        s = self.side / max(h, w)
        small = cv2.resize(rgb, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
        motion = (
            0.0
            if self._prev is None or self._prev.shape != grey.shape
            else float(cv2.absdiff(grey, self._prev).mean())
        )
        self._prev = grey
        return sharp >= self.min_sharpness and motion <= self.max_motion, sharp, motion


@dataclass
class LiveStats:
    frames: int = 0
    gated: int = 0
    recognized: int = 0
    changes: int = 0
    reopens: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            self.stage_ms[k] = self.stage_ms.get(k, 0.0) + float(v)

    def as_dict(self) -> dict[str, Any]:
        secs = max(1e-9, time.perf_counter() - self.started)
        n = max(1, self.recognized)
        return {
            "frames": self.frames,
            "gated_out": self.gated,
            "recognized": self.recognized,
            "changes": self.changes,
            "reopens": self.reopens,
            "seconds": round(secs, 2),
            "frames_per_s": round(self.frames / secs, 2),
            "stage_ms_mean": {k: round(v / n, 2) for k, v in self.stage_ms.items()},
        }


def _csv_row(path: Path, change: CardChange, source: str) -> None:
    new = not path.is_file() or path.stat().st_size == 0
    c = change.card or {}
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(CSV_FIELDS)
        w.writerow([c.get("card_id"), c.get("name"), c.get("set_code"), c.get("number"), change.score, source,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])  # fmt: skip


def frames(  # noqa: C901 - one loop of open, read, reopen with backoff and stop
    spec: str,
    opener: Callable[[str], Source] = open_source,
    sleep: Callable[[float], None] = time.sleep,
    backoff: tuple[float, float] = (0.5, 10.0),
    max_reopens: int | None = None,
    stats: LiveStats | None = None,
) -> Iterator[np.ndarray | None]:
    """Frames from ``spec``; a camera that fails is reopened after 0.5, 1, 2 ... 10 s.
    Yields None once after each reopen (so the vote can be reset)."""
    delay, cap = backoff
    src: Source | None = None
    fails = 0
    try:
        while True:
            if src is None:
                try:
                    src = opener(spec)
                except SourceError as e:
                    # a camera missing at the start is retried like a dropout; a file is not
                    if not (spec == "picamera2" or spec.startswith("opencv:")):
                        raise
                    src = None
                    err = e
                else:
                    err = None
                if src is None:
                    fails += 1
                    if max_reopens is not None and fails > max_reopens:
                        raise SourceError(f"{spec}: gave up after {max_reopens} reopen attempts ({err})")
                    wait = min(cap, delay * 2 ** (fails - 1))
                    log.warning("%s; reopening in %.1f s", err, wait)
                    sleep(wait)
                    continue
            try:
                frame = src.read()
            except SourceError as e:
                src.close()
                src = None
                if stats is not None:
                    stats.reopens += 1
                fails += 1
                if max_reopens is not None and fails > max_reopens:
                    raise SourceError(f"{spec}: gave up after {max_reopens} reopen attempts ({e})") from e
                wait = min(cap, delay * 2 ** (fails - 1))
                log.warning("%s; reopening in %.1f s", e, wait)
                sleep(wait)
                yield None
                continue
            if frame is None:
                return
            fails = 0
            yield frame
    finally:
        if src is not None:
            src.close()


def run_live(  # noqa: PLR0913 - the source, clock and limits are injectable for tests
    recognizer: Any,
    spec: str,
    emit: Callable[[dict[str, Any]], None],
    *,
    vote: CardVote | None = None,
    gate: Gate | None = None,
    csv_path: Path | None = None,
    log_every: float = 10.0,
    max_fps: float | None = None,
    opener: Callable[[str], Source] = open_source,
    sleep: Callable[[float], None] = time.sleep,
    max_reopens: int | None = None,
) -> LiveStats:
    """Run the loop until the source ends (or Ctrl-C: returns cleanly with the stats)."""
    vote = vote or CardVote()
    gate = gate or Gate()
    stats = LiveStats()
    last_log = time.perf_counter()
    try:
        for frame in frames(spec, opener, sleep, max_reopens=max_reopens, stats=stats):
            if frame is None:  # the camera was reopened: what it saw before says nothing now
                vote.reset()
                continue
            t_frame = time.perf_counter()
            stats.frames += 1
            ok, sharp, motion = gate.check(frame)
            if not ok:
                stats.gated += 1
                vote.feed(None)
            else:
                r = recognizer.recognize_array(frame, name=f"{spec}#{stats.frames}")
                stats.recognized += 1
                stats.add(dict(r.timings_ms))
                change = vote.feed(r)
                if change is not None:
                    stats.changes += 1
                    line = {
                        **change.as_dict(),
                        "source": spec,
                        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    }
                    emit(line)
                    if csv_path is not None and change.card is not None:
                        _csv_row(csv_path, change, spec)
            now = time.perf_counter()
            if now - last_log >= log_every:
                log.info("live: %s", stats.as_dict())
                last_log = now
            if max_fps:  # e.g. play a video at its own speed
                left = 1.0 / max_fps - (now - t_frame)
                if left > 0:
                    sleep(left)
    except KeyboardInterrupt:
        log.info("live: stopped by Ctrl-C")
    return stats
