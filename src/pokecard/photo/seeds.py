"""Seeds policy: training and held-out evaluation draw from disjoint seed ranges.

Every simulated photo is a pure function of (card image, seed, config). Seeds are plain
non-negative integers in two ranges that never meet:

* training:   ``train_seed(i, k) = i * 2**32 + k``            in ``[0, 2**62)``
* evaluation: ``eval_seed(i, k)  = 2**62 + i * 2**32 + k``    in ``[2**62, 2**63)``

with ``i`` the card's index in the catalogue (< 2**30) and ``k`` the photo number for that
card (< 2**32; a trainer uses e.g. ``k = epoch * views + view``). A training loop that
only calls :func:`train_seed` can therefore never produce a photo of the evaluation set,
whatever its epochs or views. :func:`is_eval_seed` tells them apart.
"""

from __future__ import annotations

CARD_BITS = 30
K_BITS = 32
EVAL_BASE = 1 << 62
_MAX_K = 1 << K_BITS
_MAX_I = 1 << CARD_BITS


def _check(card_index: int, k: int) -> None:
    if not 0 <= card_index < _MAX_I:
        raise ValueError(f"card_index {card_index} is out of range [0, 2**{CARD_BITS})")
    if not 0 <= k < _MAX_K:
        raise ValueError(f"k {k} is out of range [0, 2**{K_BITS})")


def train_seed(card_index: int, k: int) -> int:
    """Seed of the k-th training view of card ``card_index`` (in [0, 2**62))."""
    _check(card_index, k)
    return (card_index << K_BITS) | k


def eval_seed(card_index: int, k: int) -> int:
    """Seed of the k-th held-out evaluation photo of card ``card_index`` (in [2**62, 2**63))."""
    _check(card_index, k)
    return EVAL_BASE | (card_index << K_BITS) | k


def is_eval_seed(seed: int) -> bool:
    return EVAL_BASE <= seed < 2 * EVAL_BASE


def photo_k(batch_seed: int, j: int) -> int:
    """Photo number for the j-th photo of a card in a batch written with ``--seed batch_seed``.

    Batches with different seeds never share a photo (as long as each writes < 65,536 per card).
    """
    if not 0 <= batch_seed < (1 << 16):
        raise ValueError(f"seed {batch_seed} is out of range [0, 65536)")
    if not 0 <= j < (1 << 16):
        raise ValueError(f"photo number {j} is out of range [0, 65536)")
    return (batch_seed << 16) | j
