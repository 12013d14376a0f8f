"""Template flags (pokecard.template): exact below the sample size, stable samples, related cards."""

from __future__ import annotations

import numpy as np
import pytest

from pokecard import template
from pokecard.arrays import map_npz, save_npz
from pokecard.template import TemplateConfig, TemplateFlagger, in_sample, related_cards, sample_rate


def _keypoints(cards: int, per: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random keypoints with a planted template: the same 20 keypoints (jittered) on every card."""
    rng = np.random.default_rng(seed)
    tmpl_xy = rng.uniform(0, 250, (20, 2)).astype(np.float32)
    tmpl_d = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    xs, ds = [], []
    for _ in range(cards):
        flip = rng.random((20, 256)) < 0.05  # ~13 of 256 bits differ: within the 48-bit distance
        d = np.packbits(np.unpackbits(tmpl_d, axis=1) ^ flip, axis=1)
        xs.append(np.vstack([tmpl_xy + rng.normal(0, 1.5, (20, 2)), rng.uniform(0, 250, (per - 20, 2))]))
        ds.append(np.vstack([d, rng.integers(0, 256, (per - 20, 32), dtype=np.uint8)]))
    offsets = np.arange(cards + 1) * per
    return np.vstack(xs).astype(np.float32), np.vstack(ds), offsets


def _naive(
    xy: np.ndarray, desc: np.ndarray, owner: np.ndarray, ref_cards: list[set[int]], cfg: TemplateConfig
) -> np.ndarray:
    """Per keypoint, its close keypoints on the other cards of its reference set (the definition)."""
    bits = np.unpackbits(desc, axis=1).astype(int)
    out = np.zeros(len(desc), int)
    for i in range(len(desc)):
        refs = np.flatnonzero(np.isin(owner, list(ref_cards[owner[i]] - {owner[i]})))
        ham = (bits[refs] != bits[i]).sum(1)
        close = np.abs(xy[refs] - xy[i]).max(1) <= cfg.px
        out[i] = int(np.sum((ham <= cfg.distance) & close))
    return out


def test_sample_part_equals_the_pairwise_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    xy, desc, off = _keypoints(12, 40, seed=1)
    cfg = TemplateConfig()
    f = TemplateFlagger(xy, desc, off, cfg)
    owner = np.repeat(np.arange(12), 40)
    everyone = f.sample_counts(np.ones(12, bool))
    assert np.array_equal(everyone, _naive(xy, desc, owner, [set(range(12))] * 12, cfg))
    for split in (1, 3):  # query cells of px, px / 3: the same counts
        monkeypatch.setattr(template, "SAMPLE_SPLIT", split)
        assert np.array_equal(f.sample_counts(np.ones(12, bool)), everyone)
    monkeypatch.undo()
    flags = everyone.reshape(12, 40) > 0
    assert flags[:, :20].mean() > 0.95  # the planted template is found
    assert flags[:, 20:].mean() < 0.05  # random keypoints are not
    assert everyone.reshape(12, 40)[:, :20].mean() > 5  # and counted once per card that shares it
    some = np.zeros(12, bool)
    some[[2, 7]] = True
    part = f.sample_counts(some, rows=np.array([0, 2, 5]))
    want = _naive(xy, desc, owner, [{2, 7}] * 12, cfg)
    kp = f.keypoints_of([0, 2, 5])
    assert np.array_equal(part[kp], want[kp]) and not part[np.setdiff1d(np.arange(len(desc)), kp)].any()


def test_counts_against_other_keypoints_add_up_to_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an update adds (a card joining the sample) or subtracts (a card leaving it)."""
    xy, desc, off = _keypoints(10, 30, seed=3)
    cfg = TemplateConfig()
    f = TemplateFlagger(xy, desc, off, cfg)
    mine = f.keypoints_of([0, 1])
    whole = f.counts_against(mine, f.points([4, 5, 6, 7]))
    parts = f.counts_against(mine, f.points([4, 6])) + f.counts_against(mine, f.points([5, 7]))
    assert np.array_equal(whole, parts) and whole.sum() > 0
    owner = np.repeat(np.arange(10), 30)
    assert np.array_equal(whole, _naive(xy, desc, owner, [{4, 5, 6, 7}] * 10, cfg)[mine])
    others = f.keypoints_of([0, 1, 2, 3, 5, 6, 8, 9])  # more keypoints than the reference: enumerated from it
    want = _naive(xy, desc, owner, [{4, 7}] * 10, cfg)[others]
    assert np.array_equal(f.counts_against(others, f.points([4, 7])), want) and want.sum() > 0
    monkeypatch.setattr(template, "PAIR_CHUNK", 7)  # the pairs in many small chunks: the same counts
    assert np.array_equal(f.counts_against(mine, f.points([4, 5, 6, 7])), whole)
    assert np.array_equal(f.counts_against(others, f.points([4, 7])), want)


def test_related_part_equals_the_pairwise_definition() -> None:
    xy, desc, off = _keypoints(8, 30, seed=2)
    cfg = TemplateConfig()
    f = TemplateFlagger(xy, desc, off, cfg)
    related = related_cards(np.array([[1], [0], [3], [2], [5], [4], [7], [6]]), None, None, 16)
    got = f.related_counts(related)
    owner = np.repeat(np.arange(8), 30)
    assert np.array_equal(got, _naive(xy, desc, owner, [set(r.tolist()) for r in related], cfg))
    assert got.any()


def test_related_part_in_blocks_equals_card_by_card(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cards joined a block at a time (keys tagged per card), and a pair related both ways joined
    once for both cards, count exactly what each card against its own related cards counts."""
    xy, desc, off = _keypoints(10, 30, seed=4)
    f = TemplateFlagger(xy, desc, off, TemplateConfig())
    near = np.array(
        [[1, 2], [3, -1], [-1, -1], [4, 5], [6, -1], [-1, -1], [7, 8], [9, -1], [-1, -1], [-1, -1]]
    )
    mutual = related_cards(near, None, None, 16)
    one_way = list(mutual)
    one_way[2] = np.zeros(0, np.int64)  # 0 counts against 2, 2 not against 0
    one_way[5] = np.array([3, 9])  # 5 against 9, 9 not against 5

    def card_by_card(related: list[np.ndarray], rows: list[int]) -> np.ndarray:
        out = np.zeros(len(desc), np.int32)
        for c in rows:
            if len(related[c]):
                kp = f.keypoints_of([c])
                out[kp] = f.counts_against(kp, f.points(related[c]))
        return out

    for related in (mutual, one_way):
        want = card_by_card(related, list(range(10)))
        assert want.any()
        monkeypatch.setattr(template, "RELATED_BLOCK", 2_000_000)
        assert np.array_equal(f.related_counts(related), want)  # all cards in one block
        monkeypatch.setattr(template, "RELATED_BLOCK", 45)  # a block every card or two
        assert np.array_equal(f.related_counts(related), want)
        # some cards only (an update): the others' keypoints stay at 0
        assert np.array_equal(f.related_counts(related, rows=[6, 0, 3]), card_by_card(related, [6, 0, 3]))


def test_keypoints_of_keeps_the_order_and_repeats_of_its_rows() -> None:
    xy, desc, off = _keypoints(4, 20, seed=5)
    f = TemplateFlagger(xy, desc, off, TemplateConfig())
    card = [list(range(20 * i, 20 * i + 20)) for i in range(4)]
    assert f.keypoints_of([2, 0, 2]).tolist() == card[2] + card[0] + card[2]
    assert f.keypoints_of(np.array([3])).tolist() == card[3]
    assert f.keypoints_of([]).tolist() == [] and f.keypoints_of(range(1, 2)).tolist() == card[1]


def test_related_cards_are_symmetric_and_include_the_same_name() -> None:
    emb = np.eye(5, dtype=np.float32)
    rel = related_cards(np.array([[1], [2], [-1], [-1], [-1]]), ["A", "B", "c", "a", "x"], emb, 16)
    assert [r.tolist() for r in rel] == [[1, 3], [0, 2], [1], [0], []]


def test_the_sample_is_a_property_of_each_card() -> None:
    assert sample_rate(200, 256) == 1.0 and sample_rate(257, 256) == 0.5
    assert sample_rate(17_592, 256) == 2.0**-7 and sample_rate(17_792, 256) == 2.0**-7
    ids = [f"c-{i}" for i in range(5000)]
    rate = sample_rate(len(ids), 256)
    s = in_sample(ids, rate)
    assert 128 <= s.sum() <= 256 * 1.2
    more = in_sample(ids + [f"new-{i}" for i in range(200)], rate)
    assert np.array_equal(more[:5000], s)  # adding cards does not move the others


def test_map_npz_maps_what_save_npz_wrote(tmp_path) -> None:  # noqa: ANN001
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_npz(tmp_path / "k.npz", a=a, b=np.array([True, False]), empty=np.zeros((0, 32), np.uint8))
    z = map_npz(tmp_path / "k.npz")
    assert isinstance(z["a"], np.memmap) and np.array_equal(z["a"], a)
    assert z["b"].tolist() == [True, False] and z["empty"].shape == (0, 32)
    np.savez_compressed(tmp_path / "c.npz", a=a)  # compressed members are read, not mapped
    assert np.array_equal(map_npz(tmp_path / "c.npz")["a"], a)


def test_flags_without_a_card_equal_the_counts_of_a_db_without_it() -> None:
    """An absent card's leave-one-out (``Policy.absent``) scores against ``common_of(row,
    exclude)``: it must be what the sample and related counts give without the excluded card."""
    from pokecard.features import FeatureConfig, KeypointDB

    xy, desc, off = _keypoints(12, 40, seed=3)
    xy[off[1] + 20 : off[1] + 30] = xy[off[0] + 20 : off[0] + 30] + 1.0  # cards 0 and 1 share art
    desc[off[1] + 20 : off[1] + 30] = desc[off[0] + 20 : off[0] + 30]
    fcfg = FeatureConfig()
    f = TemplateFlagger(xy, desc, off, fcfg.template())
    ids = [f"c{i}" for i in range(12)]
    rate = 0.5
    sample = in_sample(ids, rate)
    related = [np.array([1]), np.array([0])] + [np.zeros(0, np.int64)] * 10

    def parts(sample: np.ndarray, related: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "sample_counts": f.sample_counts(sample),
            "related_counts": f.related_counts(related),
            "related_offsets": np.concatenate([[0], np.cumsum([len(r) for r in related])]),
            "related_rows": np.concatenate(related).astype(np.int64),
            "sample_rate": np.array([rate]),
        }

    full = parts(sample, related)
    kdb = KeypointDB(xy, desc, off, fcfg, (full["sample_counts"] > 0) | (full["related_counts"] > 0), full)
    kdb.set_sample(ids)
    assert kdb.common_of(0, {1})[20:30].sum() == 0 < kdb.common_of(0)[20:30].sum()  # the shared art
    for x in (1, int(np.flatnonzero(sample)[-1])):  # the twin, and a card of the sample
        keep = np.arange(12) != x
        without = parts(sample & keep, [r[r != x] for r in related])
        for row in (0, 5):
            a, b = off[row], off[row + 1]
            want = (without["sample_counts"][a:b] > 0) | (without["related_counts"][a:b] > 0)
            assert np.array_equal(kdb.common_of(row, {x}), want), (row, x)
    assert np.array_equal(kdb.common_of(0, {0}), kdb.common_of(0))  # a row's own absence changes nothing
    q_xy, q_desc = kdb.card(0)  # card 0 seen by a DB without it: its twin's shared art is evidence
    stored, absent = kdb.verify(q_xy, q_desc, [1])[0], kdb.verify(q_xy, q_desc, [1], exclude={0})[0]
    assert stored.inliers == absent.inliers >= 10 and absent.distinct_inliers >= stored.distinct_inliers + 8
