"""One photo's search in progress (:class:`Look`), what a region scored (:class:`Scored`),
the ranking bars, and what a stage may ask of the recognizer (:class:`Searcher`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from pokecard.detect import Detection
from pokecard.recognize.policy import Policy

T = TypeVar("T")


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def beats(ranked: list[tuple[int, float]], bar: float) -> bool:
    """The best card reaches ``bar`` and is ahead of the second one (0 when there is none)."""
    if not ranked:
        return False
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][1] >= bar and ranked[0][1] > second


def leads(ranked: list[tuple[int, float]], bar: float) -> bool:
    """The best card reaches ``bar`` and no other card is level with it (a lone card leads)."""
    return bool(ranked) and ranked[0][1] >= bar and (len(ranked) < 2 or ranked[0][1] > ranked[1][1])


@dataclass
class Scored:
    """Raw scoring of one photo before the ok/unknown decision."""

    detection: Detection
    ranked: list[tuple[int, float]]  # (row, score) best first, distinct cards
    verified: bool
    timings: dict[str, float] = field(default_factory=dict)
    quad_found: bool = False  # any card-like quad in the frame (not only the one that scored best)
    H: np.ndarray | None = None  # the best card's verified homography, reference -> crop
    name: float | None = None  # its name bar's correlation with the photo (pokecard.namebar), once checked


class Memo:
    """What a search computes from the photo alone, whatever the policy and the rows left out:
    detections, and per region its ORB features, votes, embeddings and geometric matches. One
    photo scored several ways (calibration: in the DB, left out, absent; each kind of score)
    computes them once (docs/scale.md, "Eighth round")."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}

    def get(self, key: Any, make: Callable[[], T]) -> T:
        if key not in self._values:
            self._values[key] = make()
        return self._values[key]  # type: ignore[no-any-return]

    def region(self, det: Detection) -> Memo:
        """The memo of one region: the same quad of the same photo, whichever stage found it."""
        return self.get(("region", det.corners.tobytes(), det.found, det.crop.shape), Memo)


@dataclass
class Look:
    """One photo's search in progress: what the stages found so far, and their time."""

    rgb: np.ndarray
    exclude: set[int] | None
    memo: Memo = field(default_factory=Memo)
    timings: dict[str, float] = field(
        default_factory=lambda: {"detect": 0.0, "embed": 0.0, "search": 0.0, "verify": 0.0}
    )
    quick: Detection | None = None  # the fast look's quad
    quick_emb: list[tuple[int, float]] | None = None  # its embedding top-k, when computed
    refit: Detection | None = None  # the card's outline placed by the fast look's match, when scored
    best: Scored | None = None  # the best region scored so far
    regions_found: bool = False

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            self.timings[k] = self.timings.get(k, 0.0) + v

    def keep(self, sc: Scored) -> None:
        b = self.best
        if b is None or (sc.ranked and (not b.ranked or sc.ranked[0][1] > b.ranked[0][1])):
            self.best = sc


def best_of(look: Look) -> Scored:
    """The best region scored so far, as the search's answer."""
    assert look.best is not None
    look.best.quad_found = look.quick is not None or look.regions_found
    return look.best


class Searcher(Protocol):
    """What a stage may ask of the recognizer (:class:`pokecard.recognize.Recognizer`)."""

    policy: Policy

    @property
    def embed_k(self) -> int: ...

    def embed_rows(
        self, crop: np.ndarray, k: int, exclude: set[int] | None, memo: Memo | None = None
    ) -> tuple[list[tuple[int, float]], float, float]: ...

    def score_region(
        self,
        det: Detection,
        exclude: set[int] | None,
        emb_ranked: list[tuple[int, float]] | None = None,
        memo: Memo | None = None,
    ) -> Scored: ...

    def decisive(self, sc: Scored, share: float = 0.0) -> bool: ...
