"""The photo's random streams: one generator per named step, all derived from the photo seed,
so switching one effect off leaves the draws of the others unchanged."""

from __future__ import annotations

import zlib

import numpy as np


class Rngs:
    """One independent generator per named step, all derived from the photo seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        g = self._cache.get(name)
        if g is None:
            g = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
            self._cache[name] = g
        return g


def on(rng: np.random.Generator, p: float) -> bool:
    # Always draw, so a probability change never shifts later draws of the same stream.
    return bool(rng.random() < p)


def uniform(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])
