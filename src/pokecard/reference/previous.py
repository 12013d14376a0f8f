"""The reference DB already under a root, as an incremental build reuses it.

A card is reused when its id and image sha256 are the previous DB's and the model, mode and
feature settings are the same; anything else (an older format, another model) means a full
build. See :mod:`pokecard.reference.build`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.arrays import map_npz
from pokecard.errors import PokecardError
from pokecard.features import FeatureConfig
from pokecard.reference.manifest import FORMAT
from pokecard.store import Store
from pokecard.template import COUNT_PARTS, TemplateConfig, as_points, in_sample

log = logging.getLogger(__name__)
PARTS = (*COUNT_PARTS, "art_sig", "name_strip")  # an older DB without one is built afresh


@dataclass
class Previous:
    ids: list[str]
    shas: list[str]
    emb: np.ndarray
    kp: dict[str, np.ndarray]
    manifest: dict[str, Any]

    @property
    def sample_rate(self) -> float:
        return float(self.kp["sample_rate"][0])

    def rows_for(self, ids: list[str], shas: list[str]) -> np.ndarray:
        """Per new card, the previous row with the same id and image (-1: describe it anew)."""
        old = {(i, s): r for r, (i, s) in enumerate(zip(self.ids, self.shas, strict=True))}
        return np.array([old.get((i, s), -1) for i, s in zip(ids, shas, strict=True)], np.int64)

    def card(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.kp["offsets"][row], self.kp["offsets"][row + 1]
        return np.asarray(self.kp["xy"][a:b]), np.asarray(self.kp["desc"][a:b])

    def _kp_index(self, rows: np.ndarray) -> np.ndarray:
        off = self.kp["offsets"]
        parts = [np.arange(off[r], off[r + 1]) for r in rows]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def sample_counts_of(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.kp["sample_counts"])[self._kp_index(rows)]

    def related_counts_of(self, row: int) -> np.ndarray:
        a, b = self.kp["offsets"][row], self.kp["offsets"][row + 1]
        return np.asarray(self.kp["related_counts"][a:b])

    def points(self, rows: np.ndarray, cfg: TemplateConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The keypoints of previous rows as :func:`pokecard.template.count_close` reads them
        (what a card that left takes away from the counts)."""
        k = self._kp_index(rows)
        return as_points(self.kp["xy"][k], self.kp["desc"][k], cfg.px)

    def related_of(self, row: int) -> np.ndarray:
        a, b = self.kp["related_offsets"][row], self.kp["related_offsets"][row + 1]
        return np.asarray(self.kp["related_rows"][a:b])

    def sample_lost(self, reuse: np.ndarray) -> np.ndarray:
        """The previous sample's rows that are gone or changed (their matches leave the counts)."""
        was = np.flatnonzero(in_sample(self.ids, self.sample_rate))
        return np.setdiff1d(was, reuse[reuse >= 0])

    def related_change(
        self, prow: int, related: np.ndarray, reuse: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A kept card's related cards that are new to it (new rows) and those it lost (previous rows)."""
        old = self.related_of(prow)
        mapped = reuse[related]
        added = related[(mapped < 0) | ~np.isin(mapped, old)]
        return added, np.setdiff1d(old, mapped[mapped >= 0])


def load_previous(st: Store, mode: str, model_sha: str | None, features: FeatureConfig) -> Previous | None:
    """The previous DB when an incremental build can reuse it, else None (and why, in the log)."""
    if not st.exists(layout.REFERENCE_MANIFEST):
        return None
    try:
        man: dict[str, Any] = st.get_json(layout.REFERENCE_MANIFEST)
        why = _incompatible(man, mode, model_sha, features)
        if why:
            log.info("full build: the DB there %s", why)
            return None
        index = st.get_json(layout.REFERENCE_INDEX)
        kp = map_npz(st.local_path(layout.REFERENCE_KEYPOINTS))
        emb = np.load(st.local_path(layout.REFERENCE_EMBEDDINGS), mmap_mode="r", allow_pickle=False)
    except (PokecardError, OSError, ValueError, KeyError) as e:
        log.info("full build: the DB there is not readable (%s)", e)
        return None
    if "sources" not in index or any(p not in kp for p in PARTS):
        log.info("full build: the DB there records no image hashes or template parts (older build)")
        return None
    ids, shas = list(index["card_ids"]), list(index["sources"])
    if not (len(ids) == len(shas) == len(emb) == len(kp["offsets"]) - 1):
        log.info("full build: the DB there is inconsistent")
        return None
    return Previous(ids, shas, emb, kp, man)


def _incompatible(
    man: dict[str, Any], mode: str, model_sha: str | None, features: FeatureConfig
) -> str | None:
    if man.get("format") != FORMAT:
        return f"has format {man.get('format')!r}"
    if man.get("mode") != mode:
        return f"is {man.get('mode')}, this build is {mode}"
    if (man.get("model") or {}).get("sha256") != model_sha:
        return "was built by another model"
    if man.get("features") != json.loads(json.dumps(features.as_dict())):  # tuples read back as lists
        return "has other feature settings"
    return None
