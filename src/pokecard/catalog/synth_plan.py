"""The demo catalogue's plan: every card's identity (name, number, kind, type, HP, art and
text seeds, rarity), decided before anything is drawn, and its near-duplicate rates.

Near-duplicates are deliberate, as in real sets (the recognizer must read details, not
the dominant colour): reprints that share the art with a different name or number,
several cards of the same name with different art, and alternate-art rares of an
existing card (same name, type and attacks, new art and layout).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

SET_CODE, SET_NAME = "SYN", "Synthetic Demo"

# type -> (frame colour RGB, energy symbol colour RGB)
TYPES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "Grass": ((150, 196, 92), (60, 150, 60)),
    "Fire": ((232, 120, 80), (220, 60, 30)),
    "Water": ((110, 170, 225), (40, 110, 210)),
    "Lightning": ((245, 215, 90), (235, 190, 20)),
    "Psychic": ((190, 130, 200), (150, 70, 170)),
    "Fighting": ((200, 140, 90), (170, 90, 40)),
    "Darkness": ((70, 90, 100), (30, 50, 60)),
    "Metal": ((175, 180, 190), (120, 125, 140)),
    "Dragon": ((200, 175, 90), (170, 140, 40)),
    "Colorless": ((225, 222, 215), (190, 190, 190)),
}
_ONSETS = ["B", "Ch", "Dr", "Fl", "G", "K", "L", "M", "P", "Qu", "R", "Sn", "T", "V", "Z", "Sh", "Gl", "Th"]
_VOWELS = ["a", "e", "i", "o", "u", "y", "ee", "oo", "ai"]
_CODAS = ["", "n", "r", "x", "m", "l", "k", "ck", "th", "st", "nd", "p"]
_SUFFIXES = ["", "", "", "chu", "saur", "mon", "ite", "rex", "eon", "zard", "ling", "tar"]
_TRAINERS = ["Potion", "Switch", "Research", "Ball", "Candy", "Catcher", "Rope", "Stretcher", "Belt"]
RARITIES = ["Common", "Uncommon", "Rare", "Double Rare", "Illustration Rare", "Special Illustration Rare"]


@dataclass(frozen=True)
class CardSpec:
    """One card's identity; its image is a pure function of it (synth_card.render_card)."""

    card_id: str
    name: str
    number: str
    kind: str  # pokemon | trainer | fullart
    ptype: str
    hp: int
    stage: str
    art_seed: int
    text_seed: int
    rarity: str


def made_up_name(rng: np.random.Generator) -> str:
    """A pronounceable invented name (a species, a trainer's owner, an illustrator)."""
    n = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
    if rng.random() < 0.6:
        n += rng.choice(_VOWELS[:6]) + rng.choice(_CODAS[1:])
    return (n + rng.choice(_SUFFIXES)).capitalize()


def plan(n: int, seed: int) -> list[CardSpec]:
    """Decide every card's identity first, so near-duplicates refer to earlier cards."""
    rng = np.random.default_rng([seed, 1])
    total = n
    specs: list[CardSpec] = []
    pokemon: list[CardSpec] = []  # the non-trainer cards so far, in order (the bases of near-duplicates)
    types = list(TYPES)
    for i in range(n):
        num = f"{i + 1:03d}/{total:03d}"
        cid = f"syn-{i + 1:03d}"
        r = rng.random()
        if pokemon and r < 0.10:
            # Reprint: same art, another name and number (like a promo or a regional variant).
            base = pokemon[int(rng.integers(len(pokemon)))]
            spec = CardSpec(
                cid,
                made_up_name(rng),
                num,
                base.kind,
                base.ptype,
                base.hp,
                base.stage,
                base.art_seed,
                int(rng.integers(2**31)),
                "Uncommon",
            )
        elif pokemon and r < 0.22:
            # Same name, different art (several prints of one species in a set).
            base = pokemon[int(rng.integers(len(pokemon)))]
            spec = CardSpec(
                cid,
                base.name,
                num,
                "pokemon",
                base.ptype,
                int(rng.integers(4, 25)) * 10,
                base.stage,
                int(rng.integers(2**31)),
                int(rng.integers(2**31)),
                "Common",
            )
        elif pokemon and r < 0.32:
            # Alternate-art rare of an existing card: same name, type, HP and attacks.
            base = pokemon[int(rng.integers(len(pokemon)))]
            spec = CardSpec(
                cid,
                base.name,
                num,
                "fullart",
                base.ptype,
                base.hp,
                base.stage,
                int(rng.integers(2**31)),
                base.text_seed,
                str(rng.choice(RARITIES[4:])),
            )
        elif r < 0.42:
            nm = (
                f"{made_up_name(rng)}'s {rng.choice(_TRAINERS)}"
                if rng.random() < 0.5
                else str(rng.choice(_TRAINERS))
            )
            spec = CardSpec(
                cid,
                nm,
                num,
                "trainer",
                "Colorless",
                0,
                "Trainer",
                int(rng.integers(2**31)),
                int(rng.integers(2**31)),
                str(rng.choice(RARITIES[:2])),
            )
        else:
            stage = str(rng.choice(["Basic", "Basic", "Stage 1", "Stage 2"]))
            hp = int(rng.integers(4, 14)) * 10 + (
                60 if stage == "Stage 2" else 30 if stage == "Stage 1" else 0
            )
            spec = CardSpec(
                cid,
                made_up_name(rng),
                num,
                "pokemon",
                str(rng.choice(types)),
                hp,
                stage,
                int(rng.integers(2**31)),
                int(rng.integers(2**31)),
                str(rng.choice(RARITIES[:4])),
            )
        specs.append(spec)
        if spec.kind != "trainer":
            pokemon.append(spec)
    return specs


Rate = dict[str, int | float]


def _rate(groups: int, cards: int, n: int) -> Rate:
    return {"groups": groups, "cards": cards, "share": round(cards / n, 4) if n else 0.0}


def shared_keys(keys: list[Hashable]) -> Rate:
    """Cards whose key another card also has: groups (such keys), cards, share of all cards.

    ``shared_keys([c.name for c in catalog.cards])`` is the "shares a name with another
    card" rate of any catalogue, the real ones included.
    """
    shared = [c for c in Counter(keys).values() if c > 1]
    return _rate(len(shared), sum(shared), len(keys))


def near_duplicates(specs: list[CardSpec]) -> dict[str, Rate]:
    """The near-duplicate groups of a plan, each as groups, cards and share (of all cards).

    ``shared_art``: cards whose art another card also has (a reprint and the card it
    reprints); ``shared_name``: cards whose name another card also has (same-name prints,
    alternate arts and their base, chance collisions, plain trainer names);
    ``alternate_art``: the full-art alternate-art rares (groups: the names they belong to).
    """
    alt = [s.name for s in specs if s.kind == "fullart"]
    return {
        "shared_art": shared_keys([s.art_seed for s in specs]),
        "shared_name": shared_keys([s.name for s in specs]),
        "alternate_art": _rate(len(set(alt)), len(alt), len(specs)),
    }
