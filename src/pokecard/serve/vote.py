"""The live mode's vote over recent frames: a card is reported once it is stable.

Narrow on purpose (``feed(card_id or None) -> newly stable card_id or None``) so it can be
swapped for the edge live loop's vote (src/pokecard/edge/vote.py) when both exist.
"""

from __future__ import annotations

from collections import Counter, deque


class StableVote:
    """Reports a card when it wins ``need`` of the last ``window`` frames and differs from the
    last stable state. "No card" is a state too, so taking a card away and showing it again
    reports it again (a second copy), while holding it still reports it once."""

    def __init__(self, window: int = 5, need: int = 3) -> None:
        if not 1 <= need <= window:
            raise ValueError(f"need ({need}) must be between 1 and window ({window})")
        self.window = window
        self.need = need
        self._recent: deque[str | None] = deque(maxlen=window)
        self._stable: str | None = None

    @property
    def stable(self) -> str | None:
        return self._stable

    def feed(self, card_id: str | None) -> str | None:
        """One frame's answer (a card id, or None for no card / unknown); returns the card id
        when it has just become the stable answer, else None."""
        self._recent.append(card_id)
        best, votes = Counter(self._recent).most_common(1)[0]
        if votes < self.need or best == self._stable:
            return None
        self._stable = best
        return best
