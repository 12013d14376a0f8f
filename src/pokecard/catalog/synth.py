"""A generated demo catalogue: card-like images in the metadata.json format, deterministic.

Each card is drawn like a modern trading card (366 x 512 px, the size of the real scans):
yellow outer border, inner frame coloured by type, a name line with stage and HP, an art
window with procedural art (sky, ground, a creature built from seeded shapes, texture),
an info strip, one or two attack boxes with energy costs and damage, a weakness /
resistance / retreat row, the illustrator line, a set symbol, the collector number and a
rarity mark. Trainer cards use a silver frame and a large text box; "full art" rares have
the art over the whole card.

Near-duplicates are deliberate, as in real sets (the recognizer must read details, not
the dominant colour): reprints that share the art with a different name or number,
several cards of the same name with different art, and alternate-art rares of an
existing card (same name, type and attacks, new art and layout).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections import Counter
from collections.abc import Hashable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pokecard import atomic
from pokecard.catalog.model import METADATA_FILE, Card, Catalog
from pokecard.errors import CatalogError
from pokecard.progress import progress

log = logging.getLogger(__name__)

W, H = 366, 512
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
_WORDS = [
    "the",
    "this",
    "pokemon",
    "attack",
    "damage",
    "coin",
    "flip",
    "heads",
    "tails",
    "energy",
    "card",
    "discard",
    "your",
    "opponent's",
    "active",
    "bench",
    "benched",
    "put",
    "into",
    "hand",
    "deck",
    "search",
    "shuffle",
    "during",
    "next",
    "turn",
    "prevent",
    "all",
    "effects",
    "of",
    "attacks",
    "done",
    "to",
    "each",
    "heal",
    "from",
    "it",
    "is",
    "now",
    "asleep",
    "confused",
    "paralyzed",
    "poisoned",
    "burned",
    "draw",
    "until",
    "you",
    "have",
]
_TRAINERS = ["Potion", "Switch", "Research", "Ball", "Candy", "Catcher", "Rope", "Stretcher", "Belt"]
_RARITIES = ["Common", "Uncommon", "Rare", "Double Rare", "Illustration Rare", "Special Illustration Rare"]


@dataclass(frozen=True)
class _Spec:
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


def _name(rng: np.random.Generator) -> str:
    n = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
    if rng.random() < 0.6:
        n += rng.choice(_VOWELS[:6]) + rng.choice(_CODAS[1:])
    return (n + rng.choice(_SUFFIXES)).capitalize()


def _plan(n: int, seed: int) -> list[_Spec]:
    """Decide every card's identity first, so near-duplicates refer to earlier cards."""
    rng = np.random.default_rng([seed, 1])
    total = n
    specs: list[_Spec] = []
    pokemon: list[_Spec] = []  # the non-trainer cards so far, in order (the bases of near-duplicates)
    types = list(TYPES)
    for i in range(n):
        num = f"{i + 1:03d}/{total:03d}"
        cid = f"syn-{i + 1:03d}"
        r = rng.random()
        if pokemon and r < 0.10:
            # Reprint: same art, another name and number (like a promo or a regional variant).
            base = pokemon[int(rng.integers(len(pokemon)))]
            spec = _Spec(
                cid,
                _name(rng),
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
            spec = _Spec(
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
            spec = _Spec(
                cid,
                base.name,
                num,
                "fullart",
                base.ptype,
                base.hp,
                base.stage,
                int(rng.integers(2**31)),
                base.text_seed,
                str(rng.choice(_RARITIES[4:])),
            )
        elif r < 0.42:
            nm = (
                f"{_name(rng)}'s {rng.choice(_TRAINERS)}"
                if rng.random() < 0.5
                else str(rng.choice(_TRAINERS))
            )
            spec = _Spec(
                cid,
                nm,
                num,
                "trainer",
                "Colorless",
                0,
                "Trainer",
                int(rng.integers(2**31)),
                int(rng.integers(2**31)),
                str(rng.choice(_RARITIES[:2])),
            )
        else:
            stage = str(rng.choice(["Basic", "Basic", "Stage 1", "Stage 2"]))
            hp = int(rng.integers(4, 14)) * 10 + (
                60 if stage == "Stage 2" else 30 if stage == "Stage 1" else 0
            )
            spec = _Spec(
                cid,
                _name(rng),
                num,
                "pokemon",
                str(rng.choice(types)),
                hp,
                stage,
                int(rng.integers(2**31)),
                int(rng.integers(2**31)),
                str(rng.choice(_RARITIES[:4])),
            )
        specs.append(spec)
        if spec.kind != "trainer":
            pokemon.append(spec)
    return specs


# ---------------------------------------------------------------------------------- drawing
def _noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1] (low-res random field, cubic upsample)."""
    import cv2

    small = rng.random((max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w)))).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def _vgrad(h: int, w: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.float32)


def _palette(rng: np.random.Generator, base: tuple[int, int, int]) -> list[np.ndarray]:
    b = np.array(base, np.float32)
    cols = [b]
    for _ in range(5):
        cols.append(np.clip(b * rng.uniform(0.4, 1.3) + rng.uniform(-90, 90, 3), 0, 255))
    return cols


def _scenery(img: np.ndarray, rng: np.random.Generator, pal: list[np.ndarray]) -> None:
    """Background of the art: one of a few biomes, drawn in place on a float image."""
    import cv2

    h, w = img.shape[:2]
    biome = int(rng.integers(5))
    if biome != 3 and rng.random() < 0.7:  # sun / moon
        c = (int(rng.integers(w)), int(rng.integers(h // 2)))
        cv2.circle(img, c, int(rng.integers(h // 12, h // 5)), (pal[3] * 0.4 + 150).tolist(), -1, cv2.LINE_AA)
    if biome == 0:  # hills and trees
        for layer in range(int(rng.integers(2, 4))):
            xs = np.arange(w, dtype=np.float32)
            y0 = h * rng.uniform(0.45, 0.8)
            ys = y0 + sum(
                rng.uniform(3, 16) * np.sin(xs / rng.uniform(15, 90) + rng.uniform(0, 6)) for _ in range(3)
            )
            pts = np.concatenate([np.stack([xs, ys], 1), [[w, h], [0, h]]]).astype(np.int32)
            cv2.fillPoly(img, [pts], (pal[(layer + 3) % 6] * (0.6 + 0.15 * layer)).tolist(), cv2.LINE_AA)
            for _ in range(int(rng.integers(0, 7))):
                x = int(rng.integers(w))
                y = int(y0 + rng.uniform(-5, 10))
                th = int(h * rng.uniform(0.08, 0.25))
                tw = th // 3
                tri = np.array([[x, y - th], [x - tw, y], [x + tw, y]], np.int32)
                cv2.fillPoly(img, [tri], (pal[4] * 0.5).tolist(), cv2.LINE_AA)
    elif biome == 1:  # water with waves
        y0 = int(h * rng.uniform(0.4, 0.65))
        img[y0:] = img[y0:] * 0.3 + np.array(pal[2] * 0.5 + (20, 60, 110), np.float32) * 0.7
        for _k in range(int(rng.integers(6, 16))):
            y = int(y0 + (h - y0) * rng.random())
            x = int(rng.integers(w))
            cv2.ellipse(
                img, (x, y), (int(rng.integers(8, 30)), 3), 0, 180, 360, (235, 240, 250), 1, cv2.LINE_AA
            )
    elif biome == 2:  # sky with clouds
        for _ in range(int(rng.integers(3, 8))):
            c = (int(rng.integers(w)), int(rng.integers(h)))
            for _k in range(4):
                off = (c[0] + int(rng.integers(-25, 25)), c[1] + int(rng.integers(-8, 8)))
                cv2.circle(img, off, int(rng.integers(8, 22)), (245, 245, 250), -1, cv2.LINE_AA)
    elif biome == 3:  # cave / night: dark with glowing specks
        img *= 0.35
        for _ in range(int(rng.integers(20, 60))):
            c = (int(rng.integers(w)), int(rng.integers(h)))
            cv2.circle(img, c, int(rng.integers(1, 3)), (pal[3] * 0.3 + 170).tolist(), -1, cv2.LINE_AA)
    else:  # energy burst: rays from a point
        c = np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h])
        for k in range(int(rng.integers(8, 20))):
            a = rng.uniform(0, 2 * np.pi)
            p2 = c + 2 * max(h, w) * np.array([np.cos(a), np.sin(a)])
            a2 = a + rng.uniform(0.05, 0.2)
            p3 = c + 2 * max(h, w) * np.array([np.cos(a2), np.sin(a2)])
            tri = np.array([c, p2, p3], np.int32)
            cv2.fillPoly(img, [tri], (pal[k % 6] * 0.6 + 90).tolist(), cv2.LINE_AA)


def _eyes(img: np.ndarray, rng: np.random.Generator, c: tuple[int, int], r: int, dark: list[float]) -> None:
    import cv2

    er = max(2, r // 4)
    gap = int(r * rng.uniform(0.35, 0.6))
    for s in (-1, 1):
        e = (c[0] + s * gap, c[1] - r // 6)
        cv2.circle(img, e, er, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.circle(
            img, (e[0] + int(rng.integers(-1, 2)), e[1]), max(1, er // 2), (20, 20, 20), -1, cv2.LINE_AA
        )
    if rng.random() < 0.6:
        cv2.ellipse(img, (c[0], c[1] + r // 3), (r // 3, r // 6), 0, 0, 180, dark, 2, cv2.LINE_AA)
    else:
        cv2.line(img, (c[0] - r // 5, c[1] + r // 3), (c[0] + r // 5, c[1] + r // 3), dark, 2, cv2.LINE_AA)


def _creature(img: np.ndarray, rng: np.random.Generator, pal: list[np.ndarray]) -> None:
    """A creature from one of several body plans, with outline, belly, eyes and accents."""
    import cv2

    h, w = img.shape[:2]
    body, accent = pal[int(rng.integers(1, 6))], pal[int(rng.integers(1, 6))]
    bcol, acol = body.tolist(), accent.tolist()
    dark = (body * 0.4).tolist()
    light = (body * 0.5 + 120).tolist()
    plan = int(rng.integers(5))
    cx, cy = int(w * rng.uniform(0.35, 0.65)), int(h * rng.uniform(0.5, 0.66))
    s = rng.uniform(0.8, 1.25)
    if plan == 0:  # upright biped
        bw, bh = int(w * 0.18 * s), int(h * 0.26 * s)
        cv2.ellipse(img, (cx, cy), (bw, bh), float(rng.uniform(-15, 15)), 0, 360, bcol, -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (bw, bh), 0, 0, 360, dark, 2, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy + bh // 4), (bw // 2, bh // 2), 0, 0, 360, light, -1, cv2.LINE_AA)
        for sd in (-1, 1):  # arms
            cv2.line(
                img,
                (cx + sd * bw, cy - bh // 3),
                (cx + sd * int(bw * 1.6), cy + int(rng.integers(-bh // 2, bh // 3))),
                bcol,
                max(3, bw // 4),
                cv2.LINE_AA,
            )
        hr = int(bw * rng.uniform(0.7, 1.0))
        head = (cx, cy - bh - hr // 2)
    elif plan == 1:  # quadruped
        bw, bh = int(w * 0.26 * s), int(h * 0.14 * s)
        for dx in (-0.6, -0.25, 0.25, 0.6):  # legs
            x = int(cx + dx * bw)
            cv2.line(img, (x, cy), (x, cy + int(bh * 1.6)), dark, max(3, bw // 7), cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (bw, bh), 0, 0, 360, bcol, -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (bw, bh), 0, 0, 360, dark, 2, cv2.LINE_AA)
        sd = 1 if rng.random() < 0.5 else -1
        tail = np.array(
            [[cx - sd * bw, cy], [cx - sd * int(bw * 1.4), cy - bh], [cx - sd * int(bw * 1.2), cy - 2 * bh]],
            np.int32,
        )
        cv2.polylines(img, [tail], False, acol, max(3, bw // 8), cv2.LINE_AA)
        hr = int(bh * rng.uniform(0.9, 1.2))
        head = (cx + sd * int(bw * 0.95), cy - bh)
    elif plan == 2:  # serpent
        t = np.linspace(0, 1, 30)
        amp, fr = h * rng.uniform(0.06, 0.12) * s, rng.uniform(1.5, 3)
        xs = w * (0.15 + 0.7 * t)
        ys = cy + amp * np.sin(2 * np.pi * fr * t + rng.uniform(0, 6))
        pts = np.stack([xs, ys], 1).astype(np.int32)
        th = int(h * 0.07 * s)
        cv2.polylines(img, [pts], False, dark, th + 4, cv2.LINE_AA)
        cv2.polylines(img, [pts], False, bcol, th, cv2.LINE_AA)
        cv2.polylines(img, [pts], False, acol, max(1, th // 4), cv2.LINE_AA)
        hr = int(th * 1.1)
        head = (int(pts[-1][0]), int(pts[-1][1]) - hr // 2)
    elif plan == 3:  # bird
        bw, bh = int(w * 0.13 * s), int(h * 0.17 * s)
        for sd in (-1, 1):
            wing = np.array(
                [
                    [cx, cy - bh // 3],
                    [cx + sd * int(bw * rng.uniform(2.2, 3.2)), cy - int(bh * rng.uniform(0.6, 1.6))],
                    [cx + sd * int(bw * 1.4), cy + bh // 3],
                ],
                np.int32,
            )
            cv2.fillPoly(img, [wing], acol, cv2.LINE_AA)
            cv2.polylines(img, [wing], True, dark, 2, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (bw, bh), 0, 0, 360, bcol, -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (bw, bh), 0, 0, 360, dark, 2, cv2.LINE_AA)
        hr = int(bw * 0.8)
        head = (cx, cy - bh - hr // 3)
        beak = np.array(
            [
                [head[0] - hr // 4, head[1] + hr // 4],
                [head[0] + hr // 4, head[1] + hr // 4],
                [head[0], head[1] + int(hr * 1.0)],
            ],
            np.int32,
        )
    else:  # ghost / blob with a wavy hem
        bw, bh = int(w * 0.2 * s), int(h * 0.28 * s)
        xs = np.linspace(cx - bw, cx + bw, 24)
        hem = cy + bh * 0.6 + 8 * np.sin(np.linspace(0, 6 * np.pi, 24))
        top = [(cx + bw * np.cos(a), cy - bh * 0.2 - bh * 0.8 * np.sin(a)) for a in np.linspace(0, np.pi, 24)]
        poly = np.array(list(zip(xs[::-1], hem[::-1], strict=True))[::-1] + top, np.int32)
        cv2.fillPoly(img, [poly], bcol, cv2.LINE_AA)
        cv2.polylines(img, [poly], True, dark, 2, cv2.LINE_AA)
        hr = int(bw * 0.8)
        head = (cx, cy - bh // 3)
    if plan != 4:
        if plan in (0, 1) and rng.random() < 0.8:  # ears / horns
            for sd in (-1, 1):
                tip = (
                    head[0] + sd * int(hr * rng.uniform(0.4, 1.2)),
                    head[1] - int(hr * rng.uniform(0.9, 2.0)),
                )
                tri = np.array(
                    [[head[0] + sd * hr // 4, head[1] - hr // 2], [head[0] + sd * hr, head[1]], tip], np.int32
                )
                cv2.fillPoly(img, [tri], acol, cv2.LINE_AA)
        cv2.circle(img, head, hr, bcol, -1, cv2.LINE_AA)
        cv2.circle(img, head, hr, dark, 2, cv2.LINE_AA)
    if plan == 3:
        cv2.fillPoly(img, [beak], (240, 180, 40), cv2.LINE_AA)
    _eyes(img, rng, head, hr, dark)
    for _ in range(int(rng.integers(0, 4))):  # markings
        c = (head[0] + int(rng.integers(-hr, hr + 1)), head[1] + int(rng.integers(hr // 2, hr * 3)))
        cv2.circle(img, c, max(2, hr // 5), acol, -1, cv2.LINE_AA)


def draw_art(h: int, w: int, seed: int, ptype: str) -> np.ndarray:
    """Procedural art: a biome (hills, water, clouds, cave, energy burst), a creature from one of
    several body plans, painterly texture. uint8 RGB, a pure function of the seed."""
    rng = np.random.default_rng([seed, 7])
    pal = _palette(rng, TYPES[ptype][0])
    img = _vgrad(h, w, pal[1] * 0.6 + 100, pal[2]).copy()
    _scenery(img, rng, pal)
    _creature(img, rng, pal)
    # painterly texture and soft light so there are no flat areas
    tex = (_noise(rng, h, w, 40)[..., None] - 0.5) * 30 + (_noise(rng, h, w, 5)[..., None] - 0.5) * 40
    img = img + tex + (rng.random((h, w, 1)).astype(np.float32) * 8 - 4)
    return np.clip(img, 0, 255).astype(np.uint8)


def _text(
    img: np.ndarray,
    s: str,
    org: tuple[int, int],
    scale: float,
    color=(20, 20, 20),
    thick: int = 1,
    font: int | None = None,
) -> int:
    import cv2

    f = cv2.FONT_HERSHEY_SIMPLEX if font is None else font
    cv2.putText(img, s, org, f, scale, color, thick, cv2.LINE_AA)
    return cv2.getTextSize(s, f, scale, thick)[0][0]


def _energy(img: np.ndarray, c: tuple[int, int], r: int, ptype: str) -> None:
    import cv2

    col = TYPES[ptype][1]
    cv2.circle(img, c, r, col, -1, cv2.LINE_AA)
    cv2.circle(img, c, r, (40, 40, 40), 1, cv2.LINE_AA)
    cv2.circle(img, (c[0] - r // 3, c[1] - r // 3), max(1, r // 3), (255, 255, 255), -1, cv2.LINE_AA)


def _words(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(_WORDS, n))


def _paragraph(
    img: np.ndarray,
    rng: np.random.Generator,
    x: int,
    y: int,
    lines: int,
    width: int,
    scale: float = 0.32,
    color=(30, 30, 30),
) -> int:
    for _ in range(lines):
        s = _words(rng, int(rng.integers(5, 9)))
        while len(s) * 6.2 * scale / 0.32 > width and " " in s:
            s = s.rsplit(" ", 1)[0]
        _text(img, s.capitalize() if _ == 0 else s, (x, y), scale, color)
        y += int(14 * scale / 0.32)
    return y


def render_card(spec: _Spec, seed: int) -> np.ndarray:
    """Draw one card, uint8 RGB [512, 366, 3]."""
    import cv2

    rng = np.random.default_rng([spec.text_seed, 3])
    frame_col = np.array(TYPES[spec.ptype][0], np.float32)
    if spec.kind == "trainer":
        frame_col = np.array((200, 205, 212), np.float32)
    img = np.empty((H, W, 3), np.float32)
    img[:] = (244, 208, 63)  # yellow border
    bx, by = 14, 14
    inner = _vgrad(H - 2 * by, W - 2 * bx, np.clip(frame_col * 1.15, 0, 255), frame_col * 0.85)
    inner = inner + (_noise(rng, H - 2 * by, W - 2 * bx, 12)[..., None] - 0.5) * 22
    yy, xx = np.mgrid[0 : H - 2 * by, 0 : W - 2 * bx].astype(np.float32)
    inner = inner + 7 * np.sin((xx + yy) / rng.uniform(6, 14))[..., None]  # printed frame pattern
    img[by : H - by, bx : W - bx] = inner
    ax0, ay0, ax1, ay1 = 30, 58, W - 30, 262
    if spec.kind == "fullart":
        art = draw_art(H - 2 * by, W - 2 * bx, spec.art_seed, spec.ptype).astype(np.float32)
        # holo-ish sheen baked into the print of full-art rares
        t = np.linspace(0, 1, W - 2 * bx, dtype=np.float32)[None, :, None]
        art = art * 0.85 + 38 * np.sin(6 * t + np.linspace(0, 3, H - 2 * by, dtype=np.float32)[:, None, None])
        img[by : H - by, bx : W - bx] = art + 20
        # full-art cards darken the art behind their white text (name bar, attacks, footer)
        ys = np.arange(by, H - by, dtype=np.float32)[:, None, None]
        shade = 1 - 0.55 * np.clip((70 - ys) / 40, 0, 1) - 0.6 * np.clip((ys - 280) / 50, 0, 1)
        img[by : H - by, bx : W - bx] *= shade
    img = np.clip(img, 0, 255).astype(np.uint8)
    if spec.kind != "fullart":
        cv2.rectangle(img, (ax0 - 4, ay0 - 4), (ax1 + 4, ay1 + 4), (200, 200, 205), -1)
        cv2.rectangle(img, (ax0 - 4, ay0 - 4), (ax1 + 4, ay1 + 4), (120, 120, 130), 1, cv2.LINE_AA)
        img[ay0:ay1, ax0:ax1] = draw_art(ay1 - ay0, ax1 - ax0, spec.art_seed, spec.ptype)
    ink = (15, 15, 15) if spec.kind != "fullart" else (250, 250, 250)
    # name line
    if spec.kind == "trainer":
        cv2.rectangle(img, (22, 19), (W - 22, 33), (60, 60, 70), -1)
        _text(img, "TRAINER", (28, 30), 0.36, (240, 240, 240), 1)
        _text(img, "ITEM", (W - 64, 30), 0.36, (240, 240, 240), 1)
        _text(img, spec.name, (30, 50), 0.6, ink, 2, cv2.FONT_HERSHEY_DUPLEX)
    else:
        cv2.rectangle(img, (22, 20), (22 + 58, 32), (235, 235, 235), -1)
        _text(img, spec.stage.upper(), (25, 30), 0.3, (40, 40, 40))
        _text(img, spec.name, (30, 50), 0.72, ink, 2, cv2.FONT_HERSHEY_DUPLEX)
        hp = str(spec.hp)
        _text(img, "HP", (W - 112, 50), 0.38, ink, 1)
        _text(img, hp, (W - 90, 50), 0.75, ink, 2, cv2.FONT_HERSHEY_DUPLEX)
        _energy(img, (W - 34, 42), 10, spec.ptype)
    y = ay1 + 18
    if spec.kind != "fullart":
        cv2.rectangle(img, (ax0 + 20, ay1 + 6), (ax1 - 20, ay1 + 20), (215, 190, 110), -1)
        _text(
            img,
            f"NO. {int(rng.integers(1, 1000)):04d}  {_words(rng, 2).title()} Pokemon  HT {rng.integers(1, 30) / 10:.1f}",
            (ax0 + 26, ay1 + 17),
            0.3,
            (40, 40, 40),
        )
        y = ay1 + 36
    else:
        y = 296
    if spec.kind == "trainer":
        cv2.rectangle(img, (30, y - 8), (W - 30, y + 140), (236, 236, 236), -1)
        _paragraph(img, rng, 38, y + 12, 7, W - 76)
        y += 150
    else:
        box = (238, 236, 228) if spec.kind != "fullart" else None
        for _a in range(int(rng.integers(1, 3))):
            if box is not None:
                cv2.rectangle(img, (26, y - 6), (W - 26, y + 54), box, -1)
            cost = int(rng.integers(1, 4))
            for k in range(cost):
                _energy(img, (38 + 20 * k, y + 8), 8, spec.ptype if rng.random() < 0.7 else "Colorless")
            _text(
                img, _words(rng, 2).title(), (44 + 20 * cost, y + 14), 0.55, ink, 1, cv2.FONT_HERSHEY_DUPLEX
            )
            _text(
                img,
                str(int(rng.integers(1, 25)) * 10),
                (W - 72, y + 15),
                0.65,
                ink,
                2,
                cv2.FONT_HERSHEY_DUPLEX,
            )
            _paragraph(img, rng, 36, y + 32, 2, W - 72, 0.3, ink)
            y += 64
    # weakness / resistance / retreat
    yb = H - 74
    cv2.line(
        img, (26, yb - 12), (W - 26, yb - 12), (90, 90, 90) if spec.kind != "fullart" else (240, 240, 240), 1
    )
    if spec.kind != "trainer":
        for j, label in enumerate(("weakness", "resistance", "retreat")):
            x = 32 + j * 112
            _text(img, label, (x, yb + 4), 0.32, ink)
            _energy(img, (x + 70, yb), 6, str(rng.choice(list(TYPES))))
            if j < 2:
                _text(img, "x2" if j == 0 else "-30", (x + 80, yb + 4), 0.32, ink)
    _text(img, f"Illus. {_name(rng)} {_name(rng)}", (28, H - 40), 0.3, ink)
    # set symbol, collector number, rarity
    sx, sy = 32, H - 24
    cv2.rectangle(img, (sx - 6, sy - 7), (sx + 6, sy + 5), (30, 30, 30), -1)
    cv2.circle(img, (sx, sy - 1), 4, (240, 240, 240), -1, cv2.LINE_AA)
    _text(img, SET_CODE, (sx + 10, sy + 4), 0.32, ink)
    _text(img, spec.number, (sx + 42, sy + 4), 0.36, ink, 1)
    rx = sx + 112
    if spec.rarity == "Common":
        cv2.circle(img, (rx, sy - 1), 4, ink, -1, cv2.LINE_AA)
    elif spec.rarity == "Uncommon":
        cv2.fillPoly(
            img,
            [np.array([[rx, sy - 6], [rx + 5, sy - 1], [rx, sy + 4], [rx - 5, sy - 1]])],
            ink,
            cv2.LINE_AA,
        )
    else:
        stars = 1 + _RARITIES.index(spec.rarity) - 2
        for k in range(stars):
            _text(img, "*", (rx - 4 + 9 * k, sy + 6), 0.6, (200, 160, 20) if stars > 2 else ink, 2)
    _text(img, "(c) Synthetic Pokecard Demo", (W - 170, H - 20), 0.28, ink)
    return img


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _draw(job: tuple[_Spec, int, str]) -> None:
    """Render, encode and atomically write one card (in this process or a pool worker)."""
    import cv2

    spec, seed, path = job
    img = render_card(spec, seed)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise CatalogError(f"cannot encode card {spec.card_id}")
    atomic.write_bytes(path, buf.tobytes())


def _init_worker() -> None:
    # One process per core already: opencv's own threads would only oversubscribe it.
    import cv2

    cv2.setNumThreads(1)


def synth_catalog(n: int, out: str | Path, seed: int = 0, workers: int | None = None) -> Catalog:
    """Generate ``n`` cards into ``out`` (images/ + metadata.json); the same seed gives the same bytes.

    ``workers`` processes draw the cards (default: one per CPU; 1 draws in this process); the
    bytes do not depend on it. Images are written atomically as they are drawn, metadata.json
    last, so a folder with a metadata.json is complete.
    """
    if n < 1:
        raise CatalogError(f"--cards must be at least 1, got {n}")
    if workers is None:
        workers = default_workers()
    if workers < 1:
        raise CatalogError(f"--workers must be at least 1, got {workers}")
    workers = min(workers, n)
    root = Path(out).expanduser()
    (root / "images").mkdir(parents=True, exist_ok=True)
    specs = _plan(n, seed)
    jobs = [(s, seed, str(root / f"images/{s.card_id}.jpg")) for s in specs]
    with progress(n, "drawing cards") as advance:
        if workers == 1:
            for job in jobs:
                _draw(job)
                advance(1)
        else:
            # spawn, not fork: the parent may hold threads (the progress bar's refresh thread)
            ctx = mp.get_context("spawn")
            chunk = max(1, min(16, n // (workers * 8)))
            ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
            try:
                for _ in ex.map(_draw, jobs, chunksize=chunk):
                    advance(1)
            except BaseException:
                ex.shutdown(cancel_futures=True)  # a failed card stops the run, not after all the others
                raise
            ex.shutdown()
    cards = [
        Card(s.card_id, s.name, SET_CODE, SET_NAME, s.number, f"images/{s.card_id}.jpg", s.rarity)
        for s in specs
    ]
    cat = Catalog(name=f"synthetic-{seed}", root=root, cards=cards)
    # Which cards share art (reprints) or a name (alternate art): lets evaluations report
    # accuracy on the near-duplicates separately.
    arts: dict[int, str] = {}
    variants = {}
    for sp in specs:
        arts.setdefault(sp.art_seed, sp.card_id)
        variants[sp.card_id] = {"kind": sp.kind, "type": sp.ptype, "art": arts[sp.art_seed]}
    dups = near_duplicates(specs)
    log.info(
        "%d cards: %.1f%% share their art, %.1f%% a name, %.1f%% alternate art",
        n,
        100 * dups["shared_art"]["share"],
        100 * dups["shared_name"]["share"],
        100 * dups["alternate_art"]["share"],
    )
    doc = cat.metadata() | {
        "generator": {
            "seed": seed,
            "cards": n,
            "kinds": _kinds(specs),
            "near_duplicates": dups,
            "variants": variants,
        }
    }
    atomic.write_json(root / METADATA_FILE, doc)
    return cat


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


def near_duplicates(specs: list[_Spec]) -> dict[str, Rate]:
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


def _kinds(specs: list[_Spec]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in specs:
        out[s.kind] = out.get(s.kind, 0) + 1
    return out
