"""One photo's answer, as the recognizer returns it and as every consumer reads it.

``Result.to_json()`` is the CLI's ``--json`` line and the web API's body (docs/architecture.md, "Contracts"):
``file, status, card, score, margin, top_k, timings_ms, error``. ``score`` is the count of
RANSAC inliers on distinctive reference keypoints when verification ran, else the cosine
similarity; ``margin`` is best minus second-best distinct card on the same scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

STAGES = ("decode", "detect", "embed", "search", "verify", "total")
STATUSES = ("ok", "unknown", "no_card", "error")
Status = Literal["ok", "unknown", "no_card", "error"]
CARD_FIELDS = ("card_id", "name", "set_code", "number")


@dataclass(frozen=True)
class CardRef:
    """The named card of an ``ok`` result (the catalogue's facts the answer carries)."""

    card_id: str
    name: str | None = None
    set_code: str | None = None
    number: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CARD_FIELDS}


@dataclass(frozen=True)
class Candidate:
    """One ranked card: its id and its score on the result's scale."""

    card_id: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"card_id": self.card_id, "score": self.score}


@dataclass(frozen=True, eq=True)
class Result:
    file: str
    status: Status
    card: CardRef | None = None
    score: float | None = None
    margin: float | None = None
    top_k: tuple[Candidate, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None

    __hash__ = None  # type: ignore[assignment]  # timings_ms is a dict

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"result status {self.status!r} is not one of {', '.join(STATUSES)}")
        if (self.card is not None) != (self.status == "ok"):
            raise ValueError(f"{self.file}: a card goes with status ok and only with it (got {self.status})")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def card_id(self) -> str | None:
        """The named card's id (``ok`` only)."""
        return self.card.card_id if self.card else None

    @property
    def top_id(self) -> str | None:
        """The best-ranked card, accepted or not."""
        return self.top_k[0].card_id if self.top_k else None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "card": self.card.to_json() if self.card else None,
            "score": self.score,
            "margin": self.margin,
            "top_k": [c.to_json() for c in self.top_k],
            "timings_ms": dict(self.timings_ms),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Result:
        """The inverse of :meth:`to_json` (a stored scan, a server's answer)."""
        card = d.get("card")
        return cls(
            file=str(d["file"]),
            status=d["status"],
            card=CardRef(**{k: card.get(k) for k in CARD_FIELDS}) if card else None,
            score=d.get("score"),
            margin=d.get("margin"),
            top_k=tuple(Candidate(str(t["card_id"]), float(t["score"])) for t in d.get("top_k") or ()),
            timings_ms=dict(d.get("timings_ms") or {}),
            error=d.get("error"),
        )

    @classmethod
    def failed(cls, name: str, message: str, total_ms: float = 0.0) -> Result:
        """An input that could not be read: ``error`` with the message naming it."""
        timings = dict.fromkeys(STAGES, 0.0)
        timings["decode"] = timings["total"] = round(total_ms, 3)
        return cls(file=name, status="error", timings_ms=timings, error=message)
