"""One photo scored several ways with one :class:`Memo` (what calibration does) answers as
every scoring on its own does, and computes the photo's detections and features once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from cardlib import photo_of

from pokecard.recognize import Memo, Recognizer


def _same(a, b) -> None:  # noqa: ANN001
    assert a.ranked == b.ranked
    assert a.verified == b.verified
    assert (a.H is None) == (b.H is None)
    if a.H is not None:
        np.testing.assert_array_equal(a.H, b.H)
    assert a.name == b.name
    assert a.quad_found == b.quad_found


@pytest.fixture(scope="module")
def emb_root(built_root: Path, tiny_models, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    from pokecard.reference.build import build_reference

    root = Path(shutil.copytree(built_root, tmp_path_factory.mktemp("memo") / "root"))
    build_reference(root, tiny_models[0], progress=False, calibrate=False)
    return root


def test_a_shared_memo_gives_every_scoring_its_own_answer(
    emb_root: Path, small_catalog, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    import pokecard.recognize.recognizer as recognizer
    import pokecard.recognize.stages as stages

    calls = {"detect_all": 0, "orb": 0, "embed": 0}

    def counted(name, f):  # noqa: ANN001, ANN202
        def g(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            calls[name] += 1
            return f(*a, **kw)

        return g

    monkeypatch.setattr(stages, "detect_all", counted("detect_all", stages.detect_all))
    monkeypatch.setattr(recognizer, "orb_features", counted("orb", recognizer.orb_features))
    base = Recognizer(emb_root, top_k=5)
    monkeypatch.setattr(base.embedder, "embed", counted("embed", base.embedder.embed))
    ver = base.with_policy(verify=True, exhaustive=True)
    recs = [ver, ver.with_policy(absent=True), base.with_policy(verify=False, exhaustive=True)]
    for i in (0, 5):
        photo = photo_of(small_catalog, i, seed=21)
        row = base.db.card_ids.index(small_catalog.cards[i].card_id)
        alone = [rec.score(photo, exclude=ex) for rec in recs for ex in (None, {row})]
        before = dict(calls)
        memo = Memo()
        shared = [rec.score(photo, exclude=ex, memo=memo) for rec in recs for ex in (None, {row})]
        for a, b in zip(alone, shared, strict=True):
            _same(a, b)
        assert alone[0].ranked[0][0] == row and alone[1].ranked[0][0] != row  # the exclusion is honoured
        # six scorings, one full detection; each region's features and embeddings computed once
        assert calls["detect_all"] - before["detect_all"] == 1
        assert before["orb"] >= 3 * (calls["orb"] - before["orb"]) > 0
        assert before["embed"] > calls["embed"] - before["embed"] > 0


def test_verify_keeps_a_rows_matches_and_applies_the_exclusion_each_time(
    tf_root: Path, small_catalog
) -> None:  # noqa: ANN001
    from pokecard.features import orb_features

    rec = Recognizer(tf_root)
    kp = rec.db.keypoints
    crop = rec.score(photo_of(small_catalog, 2, seed=5)).detection.crop
    xy, desc = orb_features(crop, kp.config.query_features, kp.config.fast_threshold)
    rows = list(range(kp.count))
    memo: dict = {}
    first = kp.verify(xy, desc, rows, query_hw=crop.shape[:2], memo=memo)
    assert sorted(memo) == rows
    again = kp.verify(xy, desc, rows, query_hw=crop.shape[:2], memo=memo)
    fresh = kp.verify(xy, desc, rows, query_hw=crop.shape[:2])
    for a, b, c in zip(first, again, fresh, strict=True):
        assert (a.row, a.inliers, a.matches, a.distinct_inliers) == (
            b.row,
            b.inliers,
            b.matches,
            b.distinct_inliers,
        )
        assert (a.row, a.inliers, a.matches, a.distinct_inliers) == (
            c.row,
            c.inliers,
            c.matches,
            c.distinct_inliers,
        )
        np.testing.assert_array_equal(a.query_inliers, c.query_inliers)
    # with cards counted as absent, the stored matches are re-scored with their flags
    ex = set(rows) - {first[0].row}
    absent = kp.verify(xy, desc, rows, query_hw=crop.shape[:2], exclude=ex, memo=memo)
    fresh = kp.verify(xy, desc, rows, query_hw=crop.shape[:2], exclude=ex)
    assert [v.distinct_inliers for v in absent] == [v.distinct_inliers for v in fresh]
