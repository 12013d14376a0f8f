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
# related keypoints gathered for one block of cards (about 100 MB of positions, keys and words)
RELATED_BLOCK = 2_000_000
# the sample part groups query keypoints by cells of px / SAMPLE_SPLIT (fewer pairs per group)
SAMPLE_SPLIT = 2
# a card's cell keys are offset by its place in a block times this (cell keys stay below 2^40)
TAG_KEY = 1 << 40


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
    return _close_counts(t, r, cfg)[0]


def _close_counts(
    t: tuple[np.ndarray, np.ndarray, np.ndarray],
    r: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: TemplateConfig,
    back: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`count_close`, and with ``back`` also per keypoint of ``r`` its close ones in ``t``."""
    got_t = np.zeros(len(t[0]), np.int64)
    got_r = np.zeros(len(r[0]), np.int64) if back else None
    # the pairs are enumerated from the smaller side into the larger one, sorted by cell
    small_is_t = len(t[0]) <= len(r[0])
    for i, j in _close_pairs(t, r, cfg) if small_is_t else _close_pairs(r, t, cfg):
        ti, ri = (i, j) if small_is_t else (j, i)
        got_t += np.bincount(ti, minlength=len(got_t))
        if got_r is not None:
            got_r += np.bincount(ri, minlength=len(got_r))
    return got_t.astype(np.int32), got_r


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
    ax, ay = np.ascontiguousarray(a_xy[:, 0]), np.ascontiguousarray(a_xy[:, 1])
    bx, by = np.ascontiguousarray(b_xy[:, 0]), np.ascontiguousarray(b_xy[:, 1])
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
        # x, then y, then the bits, each on the survivors (a reduce over a short axis is slow)
        ok = np.abs(ax[ai] - bx[bi]) <= cfg.px
        ai, bi = ai[ok], bi[ok]
        ok = np.abs(ay[ai] - by[bi]) <= cfg.px
        ai, bi = ai[ok], bi[ok]
        bits = np.bitwise_count(a_words[ai] ^ b_words[bi])
        ham = bits[:, 0].astype(np.uint16)
        for k in range(1, bits.shape[1]):
            ham += bits[:, k]
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
        self.sizes = np.diff(self.offsets)  # keypoints per card
        self.owner = np.repeat(np.arange(len(self.offsets) - 1), self.sizes)
        self.key = cell_keys(self.xy, cfg.px)

    # -- the sample part: per fine grid cell, one BLAS product of 0/1 bit vectors ----------
    def sample_counts(self, sample: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Per keypoint of ``rows`` (all when None; 0 elsewhere), its close keypoints on the
        other cards of ``sample`` (bool per card).

        Query keypoints are grouped by cells of px / SAMPLE_SPLIT, so a group's reference set
        (the cells within px of it) is a (2 + 1 / SAMPLE_SPLIT)^2 px^2 window, not 9 px^2."""
        counts = np.zeros(len(self.desc), np.int32)
        ref = np.flatnonzero(np.asarray(sample, bool)[self.owner])
        qry = np.arange(len(self.desc)) if rows is None else self.keypoints_of(rows)
        if len(ref) == 0 or len(qry) == 0:
            return counts
        fine = max(1.0, float(self.cfg.px)) / SAMPLE_SPLIT
        reach = math.ceil(float(self.cfg.px) / fine)
        around = np.array(
            [dx * CELL_KEY + dy for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)],
            np.int64,
        )
        ref_key, qry_key = cell_keys(self.xy[ref], fine), cell_keys(self.xy[qry], fine)
        o = np.argsort(ref_key, kind="stable")
        r_order, r_key = ref[o], ref_key[o]
        o = np.argsort(qry_key, kind="stable")
        q_order, q_key = qry[o], qry_key[o]
        cells, starts = np.unique(q_key, return_index=True)
        ends = np.append(starts[1:], len(q_key))
        for c, a, b in zip(cells.tolist(), starts.tolist(), ends.tolist(), strict=True):
            lo = np.searchsorted(r_key, c + around, "left")
            hi = np.searchsorted(r_key, c + around, "right")
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
        on the card's related cards.

        A pair of counted cards related both ways is joined once and counted on both sides, and
        cards are joined a block at a time (one grid join per block, each card's cell keys
        tagged with its place in the block): per card, the numpy calls cost more than its pairs."""
        n = len(related)
        counts = np.zeros(len(self.desc), np.int32)
        cards = np.arange(n, dtype=np.int64) if rows is None else np.fromiter(rows, np.int64)
        rel = [np.asarray(related[c], np.int64) for c in cards.tolist()]
        src = np.repeat(cards, [len(r) for r in rel])
        dst = np.concatenate(rel) if rel else np.zeros(0, np.int64)
        code = np.unique(src * n + dst)
        mutual = np.isin(dst * n + src, code)  # (dst, src) is there too: dst is counted and has src
        keep = (~mutual | (src < dst)) & (self.sizes[src] > 0) & (self.sizes[dst] > 0)
        src, dst, both = src[keep], dst[keep], mutual[keep]
        if len(src) == 0:
            return counts
        # blocks of whole cards (src is grouped by card), a new one where the related keypoints
        # gathered so far pass another multiple of RELATED_BLOCK
        first = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
        before = np.r_[0, np.cumsum(self.sizes[dst])][first] // RELATED_BLOCK
        bounds = [*first[np.r_[True, before[1:] != before[:-1]]].tolist(), len(src)]
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            self._related_block(src[s:e], dst[s:e], both[s:e], counts)
        return counts

    def _related_block(self, src: np.ndarray, dst: np.ndarray, both: np.ndarray, counts: np.ndarray) -> None:
        """Add the close keypoints of the card pairs (``src``, ``dst``) in one join: ``src``'s
        keypoints get theirs on ``dst``, and ``dst``'s get theirs on ``src`` where ``both``.
        Every key is offset by the src card's place in the block, so two pairs never meet."""
        sizes = self.sizes
        cards, place = np.unique(src, return_inverse=True)
        mine = self.keypoints_of(cards)
        mine_tag = np.repeat(np.arange(len(cards), dtype=np.int64), sizes[cards])
        theirs = self.keypoints_of(dst)
        theirs_tag = np.repeat(place.astype(np.int64), sizes[dst])
        theirs_both = np.repeat(both, sizes[dst])
        t = (self.xy[mine], self.key[mine] + mine_tag * TAG_KEY, self.words[mine])
        r = (self.xy[theirs], self.key[theirs] + theirs_tag * TAG_KEY, self.words[theirs])
        got_t, got_r = _close_counts(t, r, self.cfg, back=True)
        assert got_r is not None
        counts[mine] += got_t
        back = theirs_both & (got_r > 0)
        if back.any():
            counts += np.bincount(theirs[back], weights=got_r[back], minlength=len(counts)).astype(np.int32)

    # -- an update: the counts a card adds or takes away ---------------------------------
    def points(self, rows: Iterable[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The keypoints of the cards ``rows`` as :func:`count_close` reads them."""
        k = self.keypoints_of(rows)
        return self.xy[k], self.key[k], self.words[k]

    def counts_against(self, kps: np.ndarray, ref: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """Per keypoint index in ``kps``, its close keypoints among ``ref`` (:meth:`points`)."""
        return count_close((self.xy[kps], self.key[kps], self.words[kps]), ref, self.cfg)

    def keypoints_of(self, rows: Iterable[int]) -> np.ndarray:
        """The keypoint indices of the cards ``rows``, in that order (repeats kept)."""
        r = np.fromiter(rows, np.int64) if not isinstance(rows, np.ndarray) else rows.astype(np.int64)
        lens = self.offsets[r + 1] - self.offsets[r]
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        starts = np.cumsum(lens) - lens  # where each card's run begins in the result
        return np.repeat(self.offsets[r] - starts, lens) + np.arange(total, dtype=np.int64)
