"""The live mode's vote: stable after `need` of `window` frames, once per appearance."""

from __future__ import annotations

import pytest

from pokecard.serve.vote import StableVote


def run(frames: list[str | None], **kw: int) -> list[str | None]:
    v = StableVote(**kw)
    return [v.feed(f) for f in frames]


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
        StableVote(window=2, need=3)
