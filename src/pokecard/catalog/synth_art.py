"""The demo cards' procedural art: a biome (hills, water, clouds, cave, energy burst) and a
creature from one of several body plans, with painterly texture; a pure function of a seed."""

from __future__ import annotations

import numpy as np

from pokecard.catalog.synth_plan import TYPES


def noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1] (low-res random field, cubic upsample)."""
    import cv2

    small = rng.random((max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w)))).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def vgrad(h: int, w: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """A vertical float32 gradient [h, w, 3] from the ``top`` colour to the ``bottom`` one."""
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
    img = vgrad(h, w, pal[1] * 0.6 + 100, pal[2]).copy()
    _scenery(img, rng, pal)
    _creature(img, rng, pal)
    # painterly texture and soft light so there are no flat areas
    tex = (noise(rng, h, w, 40)[..., None] - 0.5) * 30 + (noise(rng, h, w, 5)[..., None] - 0.5) * 40
    img = img + tex + (rng.random((h, w, 1)).astype(np.float32) * 8 - 4)
    return np.clip(img, 0, 255).astype(np.uint8)
