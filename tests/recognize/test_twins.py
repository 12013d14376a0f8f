"""Twins (two cards with the same art) are settled by the query keypoints only one explains."""

from __future__ import annotations

import numpy as np

from pokecard.features import Verification
from pokecard.recognize.twins import TWIN_MIN_INLIERS, twin_ranked


def _ver(row: int, distinct: int, inliers: range, text: range) -> Verification:
    q = np.arange(inliers.start, inliers.stop, dtype=np.int64)
    t = np.arange(text.start, text.stop, dtype=np.int64)
    return Verification(row, len(q), len(q), 0, distinct, query_inliers=q, query_text=t)


def test_the_twin_that_explains_the_name_and_text_wins_whatever_its_distinct_score() -> None:
    # both explain the art (query keypoints 0-119); only row 1 also the name and text (120-199)
    wrong = _ver(0, 14, range(0, 120), range(110, 120))
    right = _ver(1, 5, range(0, 200), range(120, 200))
    ranked = twin_ranked([wrong, right], "distinct")
    assert [r for r, _ in ranked] == [1, 0]
    assert ranked[0][1] == 80  # its margin in exclusive text inliers
    assert ranked[1][1] == 0  # capped at its own exclusive count: the other explains all its text


def test_template_mates_and_unknowns_keep_their_distinct_scores() -> None:
    # a template-mate: few inliers, on the same frame keypoints as the card: not a twin
    card = _ver(0, 60, range(0, 200), range(150, 200))
    mate = _ver(1, 3, range(150, 150 + TWIN_MIN_INLIERS - 1), range(150, 150 + TWIN_MIN_INLIERS - 1))
    assert twin_ranked([mate, card], "distinct") == [(0, 60.0), (1, 3.0)]
    # two twins of a card that is not in the catalogue: neither explains its text, so the
    # margin is small and neither is lifted over the threshold a distinct score would need
    t1 = _ver(0, 9, range(0, 160), range(150, 160))
    t2 = _ver(1, 2, range(5, 150), range(140, 150))
    ranked = twin_ranked([t1, t2], "distinct")
    assert ranked[0] == (0, 10.0) and ranked[1][1] <= 2.0
    # the same keypoints but disjoint: different cards, scored as they are
    a, b = _ver(0, 40, range(0, 100), range(0, 10)), _ver(1, 30, range(100, 200), range(100, 110))
    assert twin_ranked([a, b], "distinct") == [(0, 40.0), (1, 30.0)]
