"""The vote index: each query descriptor's nearest indexed descriptor, as brute force finds it
among the candidates sharing a bucket; crowded buckets are skipped; stored arrays round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from pokecard.votes import VoteIndex, _keys, query_keys


def _ham(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(2)


def test_nearest_is_the_closest_candidate_of_the_query_buckets() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (400, 32), dtype=np.uint8)
    noisy = ref[:50].copy()
    flip = rng.integers(0, 256, noisy.shape, dtype=np.uint8) & rng.integers(
        0, 256, noisy.shape, dtype=np.uint8
    )
    noisy ^= flip & (rng.random(noisy.shape) < 0.1).astype(np.uint8) * 255
    idx = VoteIndex.build(ref, np.ones(len(ref), bool), tables=6, key_size=6, seed=3)
    qi, ri = idx.nearest(noisy, ref, max_distance=256, bucket_cap=10_000)
    d = _ham(noisy, ref)
    for q, r in zip(qi, ri, strict=True):
        cand = np.zeros(len(ref), bool)
        for t in range(6):
            cand |= _keys(ref, idx.bits[t]) == _keys(noisy[q : q + 1], idx.bits[t])[0]
        best = np.flatnonzero(cand)[np.argmin(d[q, cand])]
        assert d[q, r] == d[q, best]
    # a distorted copy finds its original (it shares most buckets with it)
    assert np.mean(ri[np.isin(qi, np.arange(50))] == qi) > 0.9


def test_a_query_keys_every_table_at_once_as_the_build_keys_one() -> None:
    rng = np.random.default_rng(5)
    desc = rng.integers(0, 256, (64, 32), dtype=np.uint8)
    bits = np.stack([rng.choice(256, 20, replace=False) for _ in range(7)])
    keys = query_keys(desc, bits)
    assert keys.shape == (64, 7)
    for t in range(7):
        assert np.array_equal(keys[:, t], _keys(desc, bits[t]))
    one = np.zeros((1, 32), np.uint8)
    one[0, 0] = 0x80  # bit 0 is the first byte's most significant bit
    assert query_keys(one, np.array([[0, 1]]))[0, 0] == 1 and query_keys(one, np.array([[1, 0]]))[0, 0] == 2


def test_the_distance_limit_the_mask_and_the_bucket_cap() -> None:
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 256, (200, 32), dtype=np.uint8)
    mask = np.zeros(200, bool)
    mask[100:] = True
    idx = VoteIndex.build(ref, mask, tables=4, key_size=8)
    qi, ri = idx.nearest(ref, ref, max_distance=0, bucket_cap=1000)
    assert set(ri.tolist()) == set(range(100, 200)) and np.array_equal(
        qi, ri
    )  # unindexed rows never come back
    same = np.repeat(ref[:1], 50, axis=0)  # 50 equal descriptors fill one bucket per table
    crowded = VoteIndex.build(same, np.ones(50, bool), tables=4, key_size=8)
    assert len(crowded.nearest(same[:3], same, 0, bucket_cap=49)[0]) == 0
    assert len(crowded.nearest(same[:3], same, 0, bucket_cap=50)[0]) == 3


def test_arrays_round_trip_and_bad_shapes_are_refused() -> None:
    ref = np.random.default_rng(2).integers(0, 256, (30, 32), dtype=np.uint8)
    idx = VoteIndex.build(ref, np.ones(30, bool), tables=3, key_size=10)
    back = VoteIndex.from_arrays(idx.arrays())
    assert (
        back is not None and np.array_equal(back.starts, idx.starts) and np.array_equal(back.order, idx.order)
    )
    assert VoteIndex.from_arrays({}) is None
    a = idx.arrays()
    with pytest.raises(ValueError, match="shapes disagree"):
        VoteIndex(a["vote_bits"], a["vote_starts"], a["vote_order"][:, :5])
    with pytest.raises(ValueError, match="key_size 30"):
        VoteIndex.build(ref, np.ones(30, bool), tables=3, key_size=30)


def test_a_db_of_the_first_format_sorted_keys_gives_the_same_answers() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    idx = VoteIndex.build(ref, np.ones(300, bool), tables=4, key_size=7, seed=1)
    keys = np.stack([np.sort(_keys(ref, b)) for b in idx.bits])  # what the first format stored
    old = VoteIndex.from_arrays({"vote_bits": idx.bits, "vote_keys": keys, "vote_order": idx.order})
    assert old is not None and np.array_equal(old.starts, idx.starts)
    q = ref[:40] ^ (rng.random((40, 32)) < 0.05).astype(np.uint8)
    for a, b in zip(old.nearest(q, ref, 80, 50), idx.nearest(q, ref, 80, 50), strict=True):
        assert np.array_equal(a, b)
