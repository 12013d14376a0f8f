"""Descriptor votes' index: the nearest reference ORB descriptor of each query descriptor.

A bit-sampling LSH over 256-bit ORB descriptors: table ``t`` keys a descriptor by
``key_size`` fixed bits, and holds the indexed descriptors sorted by that key. Its arrays
are plain and sorted, so they are stored with the reference DB and memory-mapped on load
(no index to build: FLANN's LSH took 24 s to build at 17,592 cards and 0.7 s per photo to
query; docs/scale.md). A query looks up one bucket per table (as FLANN's multi-probe level
0) and keeps, per query descriptor, the closest candidate by Hamming distance.

Every reference descriptor is indexed (indexing only the distinctive ones lost 3 points of
top-1 on the 218 real cards); a bucket over ``vote_bucket_cap`` entries is skipped at query
time, since a descriptor that many cards share (a template's) says nothing about which card.
"""

from __future__ import annotations

import numpy as np

DESC_BITS = 256
# per byte value, its number of set bits (Hamming distance = popcount of XOR)
_POP = np.array([bin(i).count("1") for i in range(256)], np.uint8)
ARRAYS = ("vote_bits", "vote_keys", "vote_order")


class VoteIndex:
    """``bits`` [T, K] bit positions; ``keys`` [T, M] sorted keys; ``order`` [T, M] descriptor rows."""

    def __init__(self, bits: np.ndarray, keys: np.ndarray, order: np.ndarray) -> None:
        self.bits = np.asarray(bits, np.int16)
        self.keys = keys
        self.order = order
        if not (self.bits.ndim == keys.ndim == order.ndim == 2 and keys.shape == order.shape):
            raise ValueError(
                f"vote index shapes disagree: bits {self.bits.shape}, keys {keys.shape}, order {order.shape}"
            )
        if len(self.bits) != len(keys):
            raise ValueError(f"vote index: {len(self.bits)} bit tables for {len(keys)} key tables")

    @property
    def size(self) -> int:
        """Descriptors indexed."""
        return int(self.keys.shape[1])

    @classmethod
    def build(
        cls, desc: np.ndarray, indexed: np.ndarray, tables: int, key_size: int, seed: int = 0
    ) -> VoteIndex:
        """Index the descriptors where ``indexed`` is True (rows of ``desc`` are what queries return)."""
        if not 1 <= key_size <= 32:
            raise ValueError(f"vote index key_size {key_size}: use 1 to 32 bits")
        rng = np.random.default_rng(seed)
        bits = np.stack([rng.choice(DESC_BITS, key_size, replace=False) for _ in range(tables)])
        rows = np.flatnonzero(np.asarray(indexed, bool)).astype(np.int32)
        keys = np.empty((tables, len(rows)), np.uint32)
        order = np.empty((tables, len(rows)), np.int32)
        sub = np.asarray(desc)[rows]
        for t in range(tables):
            k = _keys(sub, bits[t])
            o = np.argsort(k, kind="stable")
            keys[t] = k[o]
            order[t] = rows[o]
        return cls(bits, keys, order)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"vote_bits": self.bits, "vote_keys": self.keys, "vote_order": self.order}

    @classmethod
    def from_arrays(cls, z: dict[str, np.ndarray]) -> VoteIndex | None:
        """The stored index (memory-mapped arrays stay mapped), None when the file has none."""
        if not all(k in z for k in ARRAYS):
            return None
        return cls(np.asarray(z["vote_bits"]), z["vote_keys"], z["vote_order"])

    def nearest(
        self, query: np.ndarray, desc: np.ndarray, max_distance: int, bucket_cap: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(query rows, descriptor rows): each query descriptor's closest indexed descriptor
        within ``max_distance`` bits, among its buckets. A bucket of more than ``bucket_cap``
        entries is skipped: a descriptor that common says nothing about which card it is."""
        q = np.ascontiguousarray(query, np.uint8)
        if len(q) == 0 or self.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qs, rs = [], []
        for t in range(len(self.bits)):
            k = _keys(q, self.bits[t])
            lo = np.searchsorted(self.keys[t], k, "left")
            hi = np.searchsorted(self.keys[t], k, "right")
            n = hi - lo
            n[n > bucket_cap] = 0
            total = int(n.sum())
            if total == 0:
                continue
            qi = np.repeat(np.arange(len(q)), n)
            # positions lo..hi-1 of every bucket, concatenated
            start = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
            qs.append(qi)
            rs.append(np.asarray(self.order[t][start + np.arange(total)], np.int64))
        if not qs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qi, ri = np.concatenate(qs), np.concatenate(rs)
        dist = _POP[np.bitwise_xor(q[qi], np.asarray(desc[ri]))].sum(1, dtype=np.int32)
        o = np.lexsort((ri, dist, qi))  # per query: closest first, lowest row on a tie
        qi, ri, dist = qi[o], ri[o], dist[o]
        first = np.ones(len(qi), bool)
        first[1:] = qi[1:] != qi[:-1]
        keep = first & (dist <= max_distance)
        return qi[keep], ri[keep]


def _keys(desc: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The key of every descriptor: its bits at ``bits`` (MSB-first within a byte), packed."""
    b = np.asarray(bits, np.int64)
    cols = desc[:, b >> 3] >> (7 - (b & 7)).astype(np.uint8)
    return ((cols & 1).astype(np.uint32) << np.arange(len(b), dtype=np.uint32)).sum(1, dtype=np.uint32)
