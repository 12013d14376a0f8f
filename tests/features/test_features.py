"""KeypointDB.verify and votes on real ORB keypoints of synthetic cards: the right card gets
geometrically consistent inliers, another card and a blank query get none."""

from __future__ import annotations

import cv2
import numpy as np

from pokecard.card import CANONICAL_HW
from pokecard.features import FeatureConfig, KeypointDB, orb_features


def _cards(small_catalog, n: int = 4) -> list[np.ndarray]:  # noqa: ANN001
    out = []
    for c in small_catalog.cards[:n]:
        img = small_catalog.load_image(c)
        out.append(cv2.resize(img, (CANONICAL_HW[1], CANONICAL_HW[0]), interpolation=cv2.INTER_AREA))
    return out


def test_verify_finds_the_card_under_a_perspective_change(small_catalog) -> None:  # noqa: ANN001
    cfg = FeatureConfig()
    cards = _cards(small_catalog)
    kdb = KeypointDB.from_images(cards, cfg)
    h, w = CANONICAL_HW
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[8, 5], [w - 4, 12], [w - 10, h - 6], [3, h - 14]])
    query = cv2.warpPerspective(cards[1], cv2.getPerspectiveTransform(src, dst), (w, h))
    xy, desc = orb_features(query, cfg.query_features, cfg.fast_threshold)
    ver = {v.row: v for v in kdb.verify(xy, desc, [0, 1, 2, 3])}
    assert set(ver) == {0, 1, 2, 3}
    right = ver[1]
    assert right.inliers >= 20 and right.inliers <= right.matches
    assert right.distinct_inliers <= right.inliers and right.art_inliers <= right.inliers
    assert all(ver[r].inliers < right.inliers / 2 for r in (0, 2, 3))
    votes = kdb.votes(desc)
    assert int(np.argmax(votes)) == 1
    assert kdb.votes(desc, exclude={1})[1] == -1.0  # left out: never the shortlist's pick


def test_verify_of_a_featureless_query_scores_nothing(small_catalog) -> None:  # noqa: ANN001
    kdb = KeypointDB.from_images(_cards(small_catalog, 2), FeatureConfig())
    xy, desc = orb_features(np.full((*CANONICAL_HW, 3), 128, np.uint8), 500)
    assert len(desc) == 0
    assert [(v.row, v.inliers, v.matches) for v in kdb.verify(xy, desc, [0, 1])] == [(0, 0, 0), (1, 0, 0)]
    assert not kdb.votes(desc).any()


def test_both_homography_estimators_find_the_same_card_and_an_old_db_keeps_its_cap(small_catalog) -> None:  # noqa: ANN001
    import pytest

    from pokecard.errors import ReferenceDBError

    cards = _cards(small_catalog)
    h, w = CANONICAL_HW
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[14, 9], [w - 6, 20], [w - 16, h - 10], [5, h - 22]])
    true_h = cv2.getPerspectiveTransform(src, dst)
    query = cv2.warpPerspective(cards[2], true_h, (w, h))
    got = {}
    for method in ("usac", "ransac"):
        cfg = FeatureConfig(homography=method)
        kdb = KeypointDB.from_images(cards, cfg)
        xy, desc = orb_features(query, cfg.query_features, cfg.fast_threshold)
        ver = {v.row: v for v in kdb.verify(xy, desc, [0, 1, 2, 3])}
        assert max(ver, key=lambda r: ver[r].inliers) == 2
        corners = cv2.perspectiveTransform(src.reshape(-1, 1, 2), ver[2].H).reshape(-1, 2)
        assert np.abs(corners - dst).max() < 4.0, method  # the warp that made the query
        got[method] = ver[2].inliers
    assert abs(got["usac"] - got["ransac"]) <= 0.1 * got["ransac"]
    # a manifest from before the setting was calibrated on RANSAC's counts: it keeps them
    old = FeatureConfig.from_dict({"ref_features": 300})
    assert old.homography == "ransac" and old.vote_bucket_cap == 64
    assert FeatureConfig.from_dict({"homography": "usac"}).homography == "usac"
    assert FeatureConfig().homography == "ransac"
    with pytest.raises(ReferenceDBError, match="'magic' is not a homography estimator"):
        FeatureConfig(homography="magic").homography_method()
