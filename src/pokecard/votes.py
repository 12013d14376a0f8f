"""Descriptor votes' index: the nearest reference ORB descriptor of each query descriptor.

A bit-sampling LSH over 256-bit ORB descriptors: table ``t`` keys a descriptor by
``key_size`` fixed bits and holds the indexed descriptors' rows sorted by that key, with the
start of every key's bucket (``starts[t, key]``, so a lookup is two reads, not a binary
search of millions). Its arrays are plain, so they are stored with the reference DB and
memory-mapped on load (no index to build: FLANN's LSH took 24 s to build at 17,592 cards and
0.7 s per photo to query; docs/scale.md). A query looks up one bucket per table (as FLANN's
multi-probe level 0) and keeps, per query descriptor, the closest candidate by Hamming
distance.

Every reference descriptor is indexed (indexing only the distinctive ones lost 3 points of
top-1 on the 218 real cards); a bucket over ``vote_bucket_cap`` entries is skipped at query
time, since a descriptor that many cards share (a template's) says nothing about which card.
"""

from __future__ import annotations

import numpy as np

DESC_BITS = 256
# a direct bucket table has 2^key_size + 1 starts per table (4 MB per table at 20 bits)
MAX_KEY_SIZE = 24
ARRAYS = ("vote_bits", "vote_starts", "vote_order")
_NONE = np.iinfo(np.int64).max


class VoteIndex:
    """``bits`` [T, K] bit positions; ``starts`` [T, 2^K + 1] bucket starts; ``order`` [T, M]
    descriptor rows sorted by key (within a bucket, by row)."""

    def __init__(self, bits: np.ndarray, starts: np.ndarray, order: np.ndarray) -> None:
        self.bits = np.asarray(bits, np.int16)
        self.starts = starts
        self.order = order
        if not (self.bits.ndim == starts.ndim == order.ndim == 2):
            raise ValueError(
                f"vote index shapes disagree: bits {self.bits.shape}, starts {starts.shape}, order {order.shape}"
            )
        if not (len(self.bits) == len(starts) == len(order)):
            raise ValueError(
                f"vote index: {len(self.bits)} bit tables, {len(starts)} bucket tables, {len(order)} row tables"
            )
        if starts.shape[1] != (1 << self.bits.shape[1]) + 1:
            raise ValueError(
                f"vote index shapes disagree: {starts.shape[1]} bucket starts for {self.bits.shape[1]}-bit keys"
            )
        if len(starts) and not np.all(np.asarray(starts[:, -1]) == order.shape[1]):
            raise ValueError(f"vote index shapes disagree: the buckets do not end at {order.shape[1]} rows")

    @property
    def size(self) -> int:
        """Descriptors indexed."""
        return int(self.order.shape[1])

    @classmethod
    def build(
        cls, desc: np.ndarray, indexed: np.ndarray, tables: int, key_size: int, seed: int = 0
    ) -> VoteIndex:
        """Index the descriptors where ``indexed`` is True (rows of ``desc`` are what queries return)."""
        if not 1 <= key_size <= MAX_KEY_SIZE:
            raise ValueError(f"vote index key_size {key_size}: use 1 to {MAX_KEY_SIZE} bits")
        rng = np.random.default_rng(seed)
        bits = np.stack([rng.choice(DESC_BITS, key_size, replace=False) for _ in range(tables)])
        rows = np.flatnonzero(np.asarray(indexed, bool)).astype(np.int32)
        starts = np.empty((tables, (1 << key_size) + 1), np.int32)
        order = np.empty((tables, len(rows)), np.int32)
        # column-major, so each key bit reads one contiguous column (10x faster at 5 M descriptors)
        cols = np.ascontiguousarray(np.asarray(desc)[rows].T).T
        for t in range(tables):
            k = _keys(cols, bits[t])
            order[t] = rows[_sort_keys(k, key_size)]
            starts[t] = _starts(k, key_size)
        return cls(bits, starts, order)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"vote_bits": self.bits, "vote_starts": self.starts, "vote_order": self.order}

    @classmethod
    def from_arrays(cls, z: dict[str, np.ndarray]) -> VoteIndex | None:
        """The stored index (memory-mapped arrays stay mapped), None when the file has none.
        A DB of the first format (sorted keys instead of bucket starts) is read too."""
        if "vote_bits" not in z or "vote_order" not in z:
            return None
        bits = np.asarray(z["vote_bits"])
        if "vote_starts" in z:
            return cls(bits, z["vote_starts"], z["vote_order"])
        if "vote_keys" not in z:
            return None
        keys = np.asarray(z["vote_keys"])
        if keys.shape != np.shape(z["vote_order"]) or bits.ndim != 2 or bits.shape[1] > MAX_KEY_SIZE:
            raise ValueError(
                f"vote index shapes disagree: keys {keys.shape}, order {np.shape(z['vote_order'])}"
            )
        edges = np.arange((1 << bits.shape[1]) + 1, dtype=np.int64)
        starts = np.stack([np.searchsorted(k, edges, "left") for k in keys]).astype(np.int32)
        return cls(bits, starts, z["vote_order"])

    def nearest(
        self, query: np.ndarray, desc: np.ndarray, max_distance: int, bucket_cap: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(query rows, descriptor rows): each query descriptor's closest indexed descriptor
        within ``max_distance`` bits (the lowest row on a tie), among its buckets. A bucket of
        more than ``bucket_cap`` entries is skipped: a descriptor that common says nothing
        about which card it is."""
        q = np.ascontiguousarray(query, np.uint8)
        if len(q) == 0 or self.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        tables = len(self.bits)
        # every (table, query) bucket at once, table-major (a loop over tables cost 3 ms a photo)
        keys = query_keys(q, self.bits).T  # [T, n]
        t_of = np.repeat(np.arange(tables), len(q))
        lo = np.asarray(self.starts[t_of, keys.reshape(-1)], np.int64)
        n = np.asarray(self.starts[t_of, keys.reshape(-1) + 1], np.int64) - lo
        n[n > bucket_cap] = 0
        total = int(n.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qi = np.repeat(np.tile(np.arange(len(q)), tables), n)
        # positions lo..hi-1 of every bucket, concatenated, in their table's row order
        start = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        ri = np.asarray(self.order[np.repeat(t_of, n), start + np.arange(total)], np.int64)
        words = np.ascontiguousarray(desc[ri]).view(np.uint64)  # [n, 4]: popcount per 64-bit word
        dist = np.bitwise_count(q.view(np.uint64)[qi] ^ words).sum(1, dtype=np.int64)
        # per query the smallest (distance, row): one pass, no sort of the candidates
        best = np.full(len(q), _NONE, np.int64)
        np.minimum.at(best, qi, (dist << 32) | ri)
        hit = np.flatnonzero((best != _NONE) & ((best >> 32) <= max_distance))
        return hit, best[hit] & 0xFFFFFFFF


def _starts(keys: np.ndarray, key_size: int) -> np.ndarray:
    """Where each key's bucket starts among the keys sorted, for every key (and the end)."""
    counts = np.bincount(keys, minlength=1 << key_size)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def _sort_keys(keys: np.ndarray, key_size: int) -> np.ndarray:
    """The stable order of the keys: two radix passes of 16-bit digits (numpy sorts 16-bit
    integers by radix, 32-bit ones by timsort: 2.5x slower at 5 M keys)."""
    half = (key_size + 1) // 2
    o = np.argsort((keys & ((1 << half) - 1)).astype(np.uint16), kind="stable")
    return o[np.argsort((keys[o] >> half).astype(np.uint16), kind="stable")]


def query_keys(desc: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The key of every descriptor in every table ([n, T]), as :func:`_keys` gives it one table
    at a time: a few descriptors' bits unpacked once (the build's millions use :func:`_keys`)."""
    bits = np.asarray(bits, np.int64)
    unpacked = np.unpackbits(np.ascontiguousarray(desc, np.uint8), axis=1)  # column b: bit b, MSB-first
    sel = unpacked[:, bits.reshape(-1)].reshape(len(desc), *bits.shape).astype(np.int64)
    return (sel << np.arange(bits.shape[1], dtype=np.int64)).sum(axis=2)


def _keys(desc: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The key of every descriptor: its bits at ``bits`` (MSB-first within a byte), packed."""
    out = np.zeros(len(desc), np.uint32)
    for i, b in enumerate(np.asarray(bits, np.int64).tolist()):
        bit = (desc[:, b >> 3] >> np.uint8(7 - (b & 7))) & np.uint8(1)
        out |= bit.astype(np.uint32) << np.uint32(i)
    return out
