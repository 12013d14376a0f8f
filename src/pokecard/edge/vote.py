"""Vote over the last k recognition results: say a card once when it is stable, and again
only when the card changes.

Reusable by any frame loop (the camera loop here, a web app's upload stream)::

    vote = CardVote(k=5, min_votes=3)
    for frame in frames:
        change = vote.feed(recognizer.recognize_array(frame))
        if change is not None:
            print(change.as_dict())

``feed`` takes a recognizer :class:`~pokecard.result.Result`, or None for a frame
that was not looked at. Only ``status == "ok"`` votes for a card; ``unknown``, ``no_card`` and
``error`` vote for "no card". When "no card" wins the window, the stable card is forgotten, so
the same card shown again after it was taken away is reported again.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from pokecard.result import Result


@dataclass(frozen=True)
class CardChange:
    """A card that became stable (``card`` None: the card was taken away, see ``report_empty``)."""

    card: dict[str, Any] | None
    votes: int
    window: int
    score: float | None
    frame: int  # index of the feed() call that made it stable
    previous: str | None = None  # card_id stable before, if any

    @property
    def card_id(self) -> str | None:
        return self.card["card_id"] if self.card else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": "card" if self.card else "empty",
            "card": self.card,
            "votes": self.votes,
            "window": self.window,
            "score": self.score,
            "frame": self.frame,
            "previous": self.previous,
        }


@dataclass
class CardVote:
    """Majority of the last ``k`` results, at least ``min_votes`` of them for one card."""

    k: int = 5
    min_votes: int = 3
    report_empty: bool = False  # also emit a change (card None) when the card is taken away
    _window: deque = field(init=False, repr=False)
    _cards: dict[str, dict[str, Any]] = field(init=False, default_factory=dict, repr=False)
    _scores: dict[str, float] = field(init=False, default_factory=dict, repr=False)
    stable: str | None = field(init=False, default=None)
    frames: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.k < 1 or not 1 <= self.min_votes <= self.k:
            raise ValueError(
                f"CardVote needs 1 <= min_votes <= k, got k={self.k}, min_votes={self.min_votes}"
            )
        self._window = deque(maxlen=self.k)

    def reset(self) -> None:
        """Forget the window and the stable card (e.g. after the camera was reopened)."""
        self._window.clear()
        self.stable = None

    def feed(self, result: Result | None) -> CardChange | None:
        """Add one frame's result; the change it causes, or None."""
        self.frames += 1
        if result is None:
            return None
        cid = result.card_id
        if result.card is not None and cid is not None:
            self._cards[cid] = result.card.to_json()
            if result.score is not None:
                self._scores[cid] = float(result.score)
        self._window.append(cid)
        winner, votes = Counter(self._window).most_common(1)[0]
        if votes < self.min_votes or winner == self.stable:
            return None
        previous, self.stable = self.stable, winner
        if winner is None:
            return (
                CardChange(None, votes, len(self._window), None, self.frames, previous)
                if self.report_empty
                else None
            )
        return CardChange(
            self._cards[winner], votes, len(self._window), self._scores.get(winner), self.frames, previous
        )
