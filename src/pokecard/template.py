"""Template flags: the reference keypoints that another card shares at about the same place.

A keypoint is "common" (frame, text box, energy symbols: the card template) when a keypoint
of another card lies within ``common_px`` of it with a descriptor within ``common_distance``
bits. Comparing every card with every other card is quadratic (hours at 17,592 cards), so a
keypoint is compared with the keypoints of two sets of cards (docs/scale.md):

* the **sample**: every card while the catalogue has at most ``template_sample`` cards
  (then the flags are exact), else the cards whose id hashes below a rate of 2^-k, so the
  set does not move when cards are added or removed. The template is shared by many cards,
  so a few hundred of them find it;
* the **related** cards: the nearest cards by embedding, the cards with about the same art
  (an art thumbnail's nearest cards above a cosine bar: a reprint under another name or
  number, which an embedding of the whole card need not place near), and the cards of the
  same name: that is where the pair-specific sharing is (a reprint's art, a name's letters).

Both parts are kept apart, as counts of close keypoints rather than flags, so an incremental
update touches only what a change touches and still equals a full rebuild: a card that joins
the sample (or a card's related set) adds its matches to the counts, a card that leaves it
subtracts them, and a keypoint is common while its count is above zero.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

CELL_KEY = 1 << 20  # cell key = gx * CELL_KEY + gy (canonical crops are far smaller)
_OFFSETS = np.array([dx * CELL_KEY + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1)], np.int64)


@dataclass(frozen=True)
class TemplateConfig:
    """How the flags are found (stored in the manifest's features)."""

    distance: int = 48  # Hamming bits (of 256)
    px: float = 10.0  # canonical-crop pixels, in x and in y
    sample: int = 256  # cards every keypoint is compared with (at most; at least half of it)
    neighbours: int = 8  # nearest cards by embedding compared in full
    same_name: int = 16  # cards of the same name compared in full (the nearest ones)
    art_neighbours: int = 8  # nearest cards by art thumbnail compared in full ...
    art_cosine: float = 0.94  # ... when this close (same art measured >= 0.949; docs/scale.md)


ART_ROWS = (0.09, 0.56)  # the art window (share of the canonical height; FeatureConfig.art_window)
ART_COLS = (0.08, 0.92)  # inside the frame's sides
ART_THUMB = (24, 16)  # w x h of the gray thumbnail
ART_DIM = ART_THUMB[0] * ART_THUMB[1]


def art_signature(crop: np.ndarray) -> np.ndarray:
    """A canonical crop's art as a unit vector (gray thumbnail, mean removed): same art, cosine near 1."""
    import cv2

    h, w = crop.shape[:2]
    art = crop[int(ART_ROWS[0] * h) : int(ART_ROWS[1] * h), int(ART_COLS[0] * w) : int(ART_COLS[1] * w)]
    g = art if art.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(art), cv2.COLOR_RGB2GRAY)
    v = cv2.resize(g, ART_THUMB, interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1)
    v -= v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else v


def sample_rate(n_cards: int, target: int) -> float:
    """1 up to ``target`` cards, else the power of two 2^-k that keeps about target/2..target cards."""
    if n_cards <= target or target <= 0:
        return 1.0
    return 2.0 ** -math.ceil(math.log2(n_cards / target))


def in_sample(card_ids: Sequence[str], rate: float) -> np.ndarray:
    """Whether each card is in the sample: a hash of its id, so membership never depends on the others."""
    if rate >= 1.0:
        return np.ones(len(card_ids), bool)
    lim = int(rate * 2**64)
    return np.array(
        [int.from_bytes(hashlib.sha1(c.encode()).digest()[:8], "big") < lim for c in card_ids], bool
    )


def related_cards(
    neighbours: np.ndarray, names: Sequence[str] | None, emb: np.ndarray | None, same_name: int
) -> list[np.ndarray]:
    """Per card, the sorted rows it is compared with in full: its neighbours, the cards that
    have it as a neighbour, and up to ``same_name`` cards of its name (nearest by embedding)."""
    n = len(neighbours)
    pairs: list[tuple[int, int]] = []
    for i, row in enumerate(neighbours):
        pairs += [(i, int(j)) for j in row if 0 <= j < n and j != i]
    if names is not None:
        groups: dict[str, list[int]] = {}
        for i, nm in enumerate(names):
            groups.setdefault(nm.strip().lower(), []).append(i)
        for rows in groups.values():
            if len(rows) < 2:
                continue
            g = np.array(rows)
            for i in rows:
                others = g[g != i]
                if len(others) > same_name and emb is not None:
                    sims = emb[others] @ emb[i]
                    others = others[np.argsort(-sims, kind="stable")[:same_name]]
                pairs += [(i, int(j)) for j in others]
    rel: list[set[int]] = [set() for _ in range(n)]
    for i, j in pairs:
        rel[i].add(j)
        rel[j].add(i)
    return [np.array(sorted(s), np.int64) for s in rel]


# pairs materialized at once when counting close keypoints (about 200 MB of indices)
PAIR_CHUNK = 4_000_000


# the keypoints.npz arrays of the counts (pokecard.reference.build), which an update and a
# left-out card (pokecard.features.KeypointDB.common_of) take matches out of
COUNT_PARTS = ("sample_counts", "related_counts", "related_offsets", "related_rows", "sample_rate")


def as_points(xy: np.ndarray, desc: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoints as :func:`count_close` reads them: (xy, cell keys, 64-bit descriptor words)."""
    xy = np.asarray(xy, np.float32)
    return xy, cell_keys(xy, px), np.ascontiguousarray(desc, np.uint8).view(np.uint64)


def cell_keys(xy: np.ndarray, px: float) -> np.ndarray:
    """The grid cell of each keypoint (cells of ``px``: a close pair is at most one cell apart)."""
    cell = max(1.0, float(px))
    return np.floor(xy[:, 0] / cell).astype(np.int64) * CELL_KEY + np.floor(xy[:, 1] / cell).astype(np.int64)


def count_close(
    t: tuple[np.ndarray, np.ndarray, np.ndarray],
    r: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: TemplateConfig,
) -> np.ndarray:
    """Per keypoint of ``t``, how many keypoints of ``r`` are close to it (within ``cfg.px`` in
    x and y and ``cfg.distance`` bits); each of ``t``, ``r`` is (xy, cell keys, 64-bit words)."""
    counts = np.zeros(len(t[0]), np.int64)
    # the pairs are enumerated from the smaller side into the larger one, sorted by cell
    small_is_t = len(t[0]) <= len(r[0])
    for ti, ri in _close_pairs(t, r, cfg) if small_is_t else _close_pairs(r, t, cfg):
        counts += np.bincount(ti if small_is_t else ri, minlength=len(counts))
    return counts.astype(np.int32)


def _close_pairs(
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: TemplateConfig,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The close pairs (index in ``a``, index in ``b``), about PAIR_CHUNK candidates at a time:
    each keypoint of ``a`` against the keypoints of ``b`` in its cell and the 8 around it."""
    a_xy, a_key, a_words = a
    b_xy, b_key, b_words = b
    if len(a_xy) == 0 or len(b_xy) == 0:
        return
    order = np.argsort(b_key, kind="stable")
    bk = b_key[order]
    want = (a_key[:, None] + _OFFSETS[None, :]).reshape(-1)
    lo = np.searchsorted(bk, want, "left")
    cnt = np.searchsorted(bk, want, "right") - lo
    per_a = cnt.reshape(len(a_xy), len(_OFFSETS)).sum(1)
    cuts = np.searchsorted(np.cumsum(per_a), np.arange(PAIR_CHUNK, int(per_a.sum()), PAIR_CHUNK), "left")
    for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(a_xy)], strict=True):
        w = slice(s * len(_OFFSETS), e * len(_OFFSETS))
        c = cnt[w]
        total = int(c.sum())
        if total == 0:
            continue
        ai = s + np.repeat(np.arange(len(c)) // len(_OFFSETS), c)
        bi = order[np.repeat(lo[w] - np.concatenate([[0], np.cumsum(c)[:-1]]), c) + np.arange(total)]
        ok = np.abs(a_xy[ai] - b_xy[bi]).max(axis=1) <= cfg.px
        ai, bi = ai[ok], bi[ok]
        ham = np.bitwise_count(a_words[ai] ^ b_words[bi]).sum(axis=1)
        close = ham <= cfg.distance
        yield ai[close], bi[close]


class TemplateFlagger:
    """The two count parts for the keypoints of a catalogue (row order = reference DB rows)."""

    def __init__(self, xy: np.ndarray, desc: np.ndarray, offsets: np.ndarray, cfg: TemplateConfig) -> None:
        self.xy = np.ascontiguousarray(xy, np.float32)
        self.desc = np.ascontiguousarray(desc, np.uint8)
        self.words = self.desc.view(np.uint64)  # [M, 4]: popcount per word
        self.offsets = np.asarray(offsets, np.int64)
        self.cfg = cfg
        self.owner = np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))
        self.key = cell_keys(self.xy, cfg.px)

    # -- the sample part: per grid cell, one BLAS product of 0/1 bit vectors -------------
    def sample_counts(self, sample: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Per keypoint of ``rows`` (all when None; 0 elsewhere), its close keypoints on the
        other cards of ``sample`` (bool per card)."""
        counts = np.zeros(len(self.desc), np.int32)
        ref = np.flatnonzero(np.asarray(sample, bool)[self.owner])
        qry = np.arange(len(self.desc)) if rows is None else self.keypoints_of(rows)
        if len(ref) == 0 or len(qry) == 0:
            return counts
        r_order = ref[np.argsort(self.key[ref], kind="stable")]
        r_key = self.key[r_order]
        q_order = qry[np.argsort(self.key[qry], kind="stable")]
        q_key = self.key[q_order]
        cells, starts = np.unique(q_key, return_index=True)
        ends = np.append(starts[1:], len(q_key))
        for c, a, b in zip(cells.tolist(), starts.tolist(), ends.tolist(), strict=True):
            lo = np.searchsorted(r_key, c + _OFFSETS, "left")
            hi = np.searchsorted(r_key, c + _OFFSETS, "right")
            near = np.concatenate([r_order[x:y] for x, y in zip(lo, hi, strict=True)])
            if len(near):
                mine = q_order[a:b]
                counts[mine] = self._count_blas(mine, near)
        return counts

    def _count_blas(self, mine: np.ndarray, near: np.ndarray) -> np.ndarray:
        """Per keypoint of ``mine``, its close keypoints (descriptor and place) of other cards in ``near``."""
        cfg = self.cfg
        out = np.zeros(len(mine), np.int64)
        # ham <= d  <=>  2 a.b - |a| - |b| + d >= 0: one BLAS product of augmented 0/1 vectors
        bn = np.unpackbits(self.desc[near], axis=1).astype(np.float32)
        bn = np.hstack([bn, np.ones((len(bn), 1), np.float32), (cfg.distance - bn.sum(1))[:, None]])
        bm = np.unpackbits(self.desc[mine], axis=1).astype(np.float32)
        bm = np.hstack([2 * bm, -bm.sum(1)[:, None], np.ones((len(bm), 1), np.float32)])
        for s in range(0, len(near), 1024):
            nb = near[s : s + 1024]
            i, j = np.nonzero(bm @ bn[s : s + 1024].T >= 0)
            qi, rj = mine[i], nb[j]
            ok = (np.abs(self.xy[qi] - self.xy[rj]).max(axis=1) <= cfg.px) & (
                self.owner[qi] != self.owner[rj]
            )
            out += np.bincount(i[ok], minlength=len(mine))
        return out.astype(np.int32)

    # -- the related part: per card, a grid join with the keypoints of its related cards --
    def related_counts(self, related: Sequence[np.ndarray], rows: Iterable[int] | None = None) -> np.ndarray:
        """Per keypoint of the cards ``rows`` (all when None; 0 elsewhere), its close keypoints
        on the card's related cards."""
        counts = np.zeros(len(self.desc), np.int32)
        for c in range(len(related)) if rows is None else rows:
            a, b = self.offsets[c], self.offsets[c + 1]
            if len(related[c]) and a < b:
                counts[a:b] = self.counts_against(np.arange(a, b), self.points(related[c]))
        return counts

    # -- an update: the counts a card adds or takes away ---------------------------------
    def points(self, rows: Iterable[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The keypoints of the cards ``rows`` as :func:`count_close` reads them."""
        k = self.keypoints_of(rows)
        return self.xy[k], self.key[k], self.words[k]

    def counts_against(self, kps: np.ndarray, ref: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """Per keypoint index in ``kps``, its close keypoints among ``ref`` (:meth:`points`)."""
        return count_close((self.xy[kps], self.key[kps], self.words[kps]), ref, self.cfg)

    def keypoints_of(self, rows: Iterable[int]) -> np.ndarray:
        parts = [np.arange(self.offsets[r], self.offsets[r + 1]) for r in rows]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
