"""The camera loop on a real video (cv2.VideoWriter of simulated photos, a known card
sequence), the vote, the gate, reopen with backoff and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pokecard.edge.errors import SourceError
from pokecard.edge.live import Gate, frames, run_live
from pokecard.edge.vote import CardVote
from pokecard.result import CardRef, Result

from .conftest import REPO, photo_of

SEQUENCE = (2, 5, 0, 6)  # catalogue rows, in the order the video shows them
RUN = 6  # frames per card


def _ok(cid: str) -> Result:
    return Result("f", "ok", CardRef(cid), score=0.9)


def test_vote_emits_once_per_stable_card() -> None:
    v = CardVote(k=5, min_votes=3)
    feed = [_ok("a"), Result("f", "unknown"), _ok("a"), _ok("b"), _ok("a"), _ok("a"), _ok("b"),
            _ok("b"), _ok("b"), _ok("b"), _ok("a")]  # fmt: skip
    out = [(i, c.card_id, c.previous) for i, r in enumerate(feed) if (c := v.feed(r))]
    assert out == [(4, "a", None), (7, "b", "a")]  # 7: b has 3 of the last 5
    # taken away (no card wins the window), then the same card again: reported again
    for _ in range(5):
        v.feed(Result("f", "no_card"))
    got = [c.card_id for _ in range(3) if (c := v.feed(_ok("b")))]
    assert got == ["b"]
    assert v.feed(None) is None  # a frame the gate skipped does not vote
    with pytest.raises(ValueError, match="min_votes"):
        CardVote(k=3, min_votes=4)


def test_gate_rejects_blur_and_motion(edge_catalog) -> None:  # noqa: ANN001
    import cv2

    a, b = photo_of(edge_catalog, 0, 1), photo_of(edge_catalog, 1, 1)
    g = Gate()
    assert g.check(a)[0] and g.check(a)[0]
    assert not g.check(b)[0]  # a jump to another scene is motion
    ok, sharp, _ = Gate().check(cv2.GaussianBlur(b, (0, 0), 6))
    assert not ok and sharp < Gate().min_sharpness


class _Flaky:
    """A camera that drops out: fails on read ``fail`` times, then shows frames."""

    live = True

    def __init__(self, plan: list) -> None:  # noqa: ANN001
        self.plan = plan

    def read(self):  # noqa: ANN201
        item = self.plan.pop(0)
        if isinstance(item, str):
            raise SourceError("opencv:0: the camera stopped delivering frames")
        return item

    def close(self) -> None:
        return None


def test_camera_dropout_is_reopened_with_backoff() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    plan = [frame, "fail", "fail", "fail", frame, None]
    opened, waits = [], []

    def opener(spec: str) -> _Flaky:
        opened.append(spec)
        return _Flaky(plan)

    got = list(frames("opencv:0", opener, waits.append))
    assert [g is None for g in got] == [False, True, True, True, False]
    assert waits == [0.5, 1.0, 2.0] and len(opened) == 4
    plan[:] = ["fail"] * 5
    with pytest.raises(SourceError, match="gave up after 2 reopen attempts"):
        list(frames("opencv:0", opener, waits.append, max_reopens=2))


@pytest.fixture(scope="module")
def card_video(edge_catalog, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:  # noqa: ANN001
    """An MP4 of simulated photos: each card of SEQUENCE for RUN frames (with sensor noise),
    separated by a cross-fade and a motion-blurred frame, as when a card is swapped."""
    import cv2

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("video") / "cards.mp4"
    photos = [photo_of(edge_catalog, i, 7) for i in SEQUENCE]
    h, w = photos[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    assert vw.isOpened()
    for j, ph in enumerate(photos):
        if j:
            fade = ((photos[j - 1].astype(np.uint16) + ph) // 2).astype(np.uint8)
            for f in (fade, cv2.blur(ph, (41, 1))):
                vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        for _ in range(RUN):
            noisy = np.clip(ph.astype(np.int16) + rng.integers(-3, 4, ph.shape), 0, 255).astype(np.uint8)
            vw.write(cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))
    vw.release()
    return path, [edge_catalog.cards[i].card_id for i in SEQUENCE]


def test_live_on_video_emits_the_card_sequence(edge_root: Path, card_video, tmp_path: Path) -> None:  # noqa: ANN001
    from pokecard.recognize import Recognizer

    video, want = card_video
    lines: list[dict] = []
    csv_path = tmp_path / "collection.csv"
    stats = run_live(Recognizer(edge_root), str(video), lines.append, csv_path=csv_path)
    assert [ln["card"]["card_id"] for ln in lines] == want  # in order, no duplicates
    assert stats.frames == len(want) * RUN + 2 * (len(want) - 1)
    assert stats.gated >= 2 * (len(want) - 1)  # the swaps did not vote
    assert stats.as_dict()["frames_per_s"] > 0
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("card_id,") and [r.split(",")[0] for r in rows[1:]] == want
    print("live on video:", stats.as_dict())


def test_live_cli_stops_cleanly_on_ctrl_c(edge_root: Path, card_video) -> None:  # noqa: ANN001
    video, want = card_video
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    p = subprocess.Popen(
        [sys.executable, "-m", "pokecard", "live", "--source", str(video), "--root", str(edge_root), "--max-fps", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    first = json.loads(p.stdout.readline())
    assert first["card"]["card_id"] == want[0] and first["event"] == "card"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "stopped by Ctrl-C" in err and "Traceback" not in err
    stats = json.loads(err.split("live: summary ", 1)[1].splitlines()[0])
    assert 0 < stats["frames"] < len(want) * RUN + 6 and "frames_per_s" in stats
