"""Ranking verified candidates when two of them share their art (docs/recognizer.md, "Twins").

Two cards printed with the same art (another name, number or attack text) both match a photo
of either with many inliers on the same query keypoints. Their "distinct" scores are then
noise: each reference keeps only its strongest keypoints, so an art keypoint one of them lacks
leaves the other's unflagged, and the wrong twin can out-score the right one on art alone.
What does tell them apart is the query keypoints one explains and the other does not (the
name, the text): the twin with more such exclusive inliers wins, and its score is at least
its margin in them; the other is capped at its own exclusive count. Pairs that overlap only
on a shared template (a few dozen frame inliers) are not twins, so an unknown card is not
named after a template-mate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pokecard.features import Verification

# Both cards explain at least this many query keypoints (a template-mate explains a few dozen
# frame keypoints; art twins explain well over a hundred)...
TWIN_MIN_INLIERS = 80
# ...and at least this share of the smaller inlier set is the same query keypoints.
TWIN_OVERLAP = 0.5


def twin_ranked(ver: Sequence[Verification], kind: str) -> list[tuple[int, float]]:
    """(row, score) best first: the ``kind`` score of each verification, with twins (same
    query keypoints, see module doc) settled by their exclusive inliers."""
    score = {v.row: float(v.score(kind)) for v in ver}
    big = [v for v in ver if len(v.query_inliers) >= TWIN_MIN_INLIERS]
    margin: dict[int, int] = {}  # per card, its worst margin of exclusive inliers over a twin
    own: dict[int, int] = {}  # and its exclusive count against that twin
    for i, a in enumerate(big):
        for b in big[i + 1 :]:
            both = len(np.intersect1d(a.query_inliers, b.query_inliers, assume_unique=True))
            if both < TWIN_OVERLAP * min(len(a.query_inliers), len(b.query_inliers)):
                continue
            ea = len(np.setdiff1d(a.query_text, b.query_inliers, assume_unique=True))
            eb = len(np.setdiff1d(b.query_text, a.query_inliers, assume_unique=True))
            for row, m, e in ((a.row, ea - eb, ea), (b.row, eb - ea, eb)):
                if row not in margin or m < margin[row]:
                    margin[row], own[row] = m, e
    for row, m in margin.items():
        score[row] = max(score[row], float(m)) if m > 0 else min(score[row], float(own[row]))
    return sorted(score.items(), key=lambda t: -t[1])
