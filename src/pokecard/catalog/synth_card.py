"""One demo card drawn like a modern trading card (366 x 512 px, the size of the real scans).

Yellow outer border, inner frame coloured by type, a name line with stage and HP, an art
window (synth_art), an info strip, one or two attack boxes with energy costs and damage,
a weakness / resistance / retreat row, the illustrator line, a set symbol, the collector
number and a rarity mark. Trainer cards use a silver frame and a large text box; "full
art" rares have the art over the whole card.
"""

from __future__ import annotations

import numpy as np

from pokecard.catalog.synth_art import draw_art, noise, vgrad
from pokecard.catalog.synth_plan import RARITIES, SET_CODE, TYPES, CardSpec, made_up_name

W, H = 366, 512
# the vocabulary of the attack and rule text
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


def render_card(spec: CardSpec, seed: int) -> np.ndarray:
    """Draw one card, uint8 RGB [512, 366, 3]."""
    import cv2

    rng = np.random.default_rng([spec.text_seed, 3])
    frame_col = np.array(TYPES[spec.ptype][0], np.float32)
    if spec.kind == "trainer":
        frame_col = np.array((200, 205, 212), np.float32)
    img = np.empty((H, W, 3), np.float32)
    img[:] = (244, 208, 63)  # yellow border
    bx, by = 14, 14
    inner = vgrad(H - 2 * by, W - 2 * bx, np.clip(frame_col * 1.15, 0, 255), frame_col * 0.85)
    inner = inner + (noise(rng, H - 2 * by, W - 2 * bx, 12)[..., None] - 0.5) * 22
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
    _text(img, f"Illus. {made_up_name(rng)} {made_up_name(rng)}", (28, H - 40), 0.3, ink)
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
        stars = 1 + RARITIES.index(spec.rarity) - 2
        for k in range(stars):
            _text(img, "*", (rx - 4 + 9 * k, sy + 6), 0.6, (200, 160, 20) if stars > 2 else ink, 2)
    _text(img, "(c) Synthetic Pokecard Demo", (W - 170, H - 20), 0.28, ink)
    return img
