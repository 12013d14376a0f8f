"""The live mode's vote (the camera loop's CardVote, fed card ids as recognizer results):
stable after 3 of 5 frames, once per appearance."""

from __future__ import annotations

import pytest

from pokecard.edge.vote import CardVote
from pokecard.result import CardRef, Result


def run(frames: list[str | None], **kw: int) -> list[str | None]:
    v = CardVote(**kw)
    out = []
    for f in frames:
        change = v.feed(Result("frame", "ok", CardRef(f)) if f else Result("frame", "unknown"))
        out.append(change.card_id if change else None)
    return out


def test_one_report_per_appearance() -> None:
    out = run(["a", None, "a", "a", "a", "a", None, None, None, "a", "a", "a"])
    assert [x for x in out if x] == ["a", "a"]  # taken away (3 empty frames) and shown again
    assert out.index("a") == 3


def test_flicker_does_not_report() -> None:
    assert run(["a", "b", "a", "b", None, "c"]) == [None] * 6


def test_switch_between_cards() -> None:
    assert [x for x in run(["a"] * 3 + ["b"] * 3) if x] == ["a", "b"]


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        CardVote(k=2, min_votes=3)
