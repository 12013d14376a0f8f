"""The pure part of the unknown decision: what a threshold does, and the lowest one that keeps
out-of-catalogue acceptance under a bound; and calibration's photos scored in threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pokecard.reference.calibrate import choose_threshold, threshold_stats

IN = np.array([0.9, 0.8, 0.7, 0.95])
OK = np.array([True, True, False, True])
OOC = np.array([0.5, 0.6, 0.75])


def test_threshold_stats_counts_what_a_threshold_accepts() -> None:
    st = threshold_stats(0.78, IN, OK, OOC)
    assert st["threshold"] == 0.78
    assert st["ooc_accepted"] == 0.0 and st["max_rejected_ooc"] == 0.75
    assert st["in_catalogue_top1"] == 0.75  # 3 of 4 right before any threshold
    assert st["in_catalogue_accepted_correct"] == 0.75  # 0.9, 0.8, 0.95 are right and above
    assert st["accuracy_drop_points"] == 0.0
    st = threshold_stats(0.85, IN, OK, OOC)
    assert st["in_catalogue_accepted_correct"] == 0.5 and st["accuracy_drop_points"] == 25.0
    st = threshold_stats(0.55, IN, OK, OOC)
    assert st["ooc_accepted"] == pytest.approx(2 / 3) and st["max_rejected_ooc"] == 0.5


def test_threshold_stats_of_empty_samples_is_defined() -> None:
    e = np.array([])
    st = threshold_stats(0.5, e, e.astype(bool), e)
    assert st["ooc_accepted"] == 0.0 and st["in_catalogue_top1"] == 0.0 and st["max_rejected_ooc"] is None


def test_choose_threshold_is_the_lowest_that_keeps_ooc_under_the_bound() -> None:
    st = choose_threshold(IN, OK, OOC, max_ooc=0.0)
    assert st["threshold"] == pytest.approx(0.75 + 1e-6)  # just above the highest out-of-catalogue score
    assert st["ooc_accepted"] == 0.0
    st = choose_threshold(IN, OK, OOC, max_ooc=0.34)  # one of three may pass
    assert st["threshold"] == pytest.approx(0.6 + 1e-6) and st["ooc_accepted"] == pytest.approx(1 / 3)
    assert choose_threshold(IN, OK, OOC, max_ooc=1.0)["threshold"] == 0.0  # anything goes: the floor


def test_choose_threshold_never_goes_under_the_floor() -> None:
    st = choose_threshold(IN, OK, OOC, max_ooc=0.0, floor=0.9)
    assert st["threshold"] == 0.9 and st["accuracy_drop_points"] == 25.0
    # with no out-of-catalogue photo at all, the floor is the answer
    assert choose_threshold(IN, OK, np.array([]), floor=0.3)["threshold"] == 0.3


def test_each_out_of_catalogue_source_keeps_its_own_bound() -> None:
    """Ten easy real photos and three hard left-out ones: pooled, 1 in 13 may pass (the hard
    0.75 under a bound of 0.1); per source, one of three hard ones is already over it."""
    from pokecard.reference.calibrate import choose_threshold_by_source

    easy, hard = np.full(10, 0.1), OOC
    pooled = choose_threshold(IN, OK, np.concatenate([easy, hard]), max_ooc=0.1)
    assert pooled["threshold"] == pytest.approx(0.6 + 1e-6)  # lets the 0.75 through
    st = choose_threshold_by_source(IN, OK, {"real": easy, "leave-one-out": hard}, max_ooc=0.1)
    assert st["threshold"] == pytest.approx(0.75 + 1e-6)
    assert st["ooc_accepted_by_source"] == {"real": 0.0, "leave-one-out": 0.0}
    # an empty source is no source; none at all gives the floor
    assert choose_threshold_by_source(IN, OK, {"real": np.array([]), "leave-one-out": hard}, 0.34)[
        "threshold"
    ] == (pytest.approx(0.6 + 1e-6))
    assert choose_threshold_by_source(IN, OK, {}, floor=0.3)["threshold"] == 0.3


def test_embed_first_share_counts_right_answers_over_the_bar_and_ahead() -> None:
    from pokecard.recognize import EMBED_FIRST_SHARE
    from pokecard.reference.calibrate import embed_first_share

    thr = 0.9
    bar = thr + EMBED_FIRST_SHARE * (1 - thr)
    d = {
        "in": [bar, bar + 0.01, bar - 0.001, 0.99, 0.99],
        "second": [0.5, 0.5, 0.5, 0.99, 0.2],  # the fourth is a tie: not decisive
        "ok": [1.0, 0.0, 1.0, 1.0, 1.0],  # the second is a wrong card
    }
    got = embed_first_share(d, thr)
    assert got == {"bar": round(bar, 4), "decides": 0.4}
    assert embed_first_share({"in": [], "second": [], "ok": []}, thr)["decides"] == 0.0


def test_the_name_bar_is_the_lowest_that_keeps_absent_cards_under_the_bound() -> None:
    from pokecard.reference.calibrate import choose_name_bar

    t = 20.0
    # 100 absent photos: 3 clear the inlier threshold (art twins), names 0.6, 0.8, 0.9
    absent = np.r_[[30.0, 40.0, 25.0], np.full(97, 5.0)]
    names = np.r_[[0.6, 0.8, 0.9], np.full(97, 0.1)]
    ins, ok = np.array([50.0, 60.0, 10.0]), np.array([True, True, True])
    in_names = np.array([0.95, 0.85, 0.99])
    st = choose_name_bar(t, ins, ok, in_names, absent, names, max_ooc=0.01)
    assert st["threshold"] == pytest.approx(0.8 + 1e-6, abs=1e-4)  # only the 0.9 twin passes: 1 %
    assert st["absent_accepted_without"] == pytest.approx(0.03)
    assert st["absent_accepted"] == pytest.approx(0.01)
    # of the right answers the threshold keeps (50, 60 inliers), the bar keeps both
    assert st["in_catalogue_accepted_correct_without"] == pytest.approx(2 / 3)
    assert st["in_catalogue_accepted_correct"] == pytest.approx(2 / 3)
    # a bound the threshold already holds needs no bar
    assert choose_name_bar(t, ins, ok, in_names, absent, names, max_ooc=0.05)["threshold"] == -1.0


def test_a_name_not_read_passes_the_bar() -> None:
    from pokecard.reference.calibrate import choose_name_bar

    absent = np.array([30.0, 30.0] + [0.0] * 98)
    names = np.array([np.nan, 0.7] + [0.0] * 98)  # the first twin's bar was flat: nothing read
    st = choose_name_bar(20.0, np.array([50.0]), np.array([True]), np.array([np.nan]), absent, names)
    assert st["threshold"] == pytest.approx(0.7 + 1e-6, abs=1e-4)
    assert st["absent_accepted"] == pytest.approx(0.01)  # the unread one still counts as accepted
    assert st["in_catalogue_accepted_correct"] == 1.0


def test_photos_scored_in_threads_calibrate_as_one_thread_does(
    tf_root: Path, small_catalog, tmp_path: Path
) -> None:  # noqa: ANN001
    """Calibration scores its photos in threads and reads them back in order: the thresholds
    and every figure behind them are those of one thread (an unreadable image is skipped)."""
    import json

    from cardlib import photo_of, write_jpeg

    from pokecard.catalog.build import load_processed
    from pokecard.reference.calibrate import calibrate_reference

    ooc = tmp_path / "ooc"
    ooc.mkdir()
    for i in (1, 7):
        write_jpeg(ooc / f"p{i}.jpg", photo_of(small_catalog, i, seed=40 + i))
    (ooc / "broken.jpg").write_bytes(b"not a jpeg")
    cat = load_processed(tf_root)
    one = calibrate_reference(tf_root, cat, ooc_dir=ooc, n=10, threads=1)
    many = calibrate_reference(tf_root, cat, ooc_dir=ooc, n=10, threads=3)
    assert json.dumps(one, sort_keys=True) == json.dumps(many, sort_keys=True)
    assert one["real_ooc_photos"] == 3 and one["min_inliers"]["ooc_photos"] == 10 + 2
