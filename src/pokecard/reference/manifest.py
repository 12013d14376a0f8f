"""The reference DB's manifest: the record of what built it and how to read it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

FORMAT = "pokecard-reference/1"
MODES = ("auto", "embedding", "training-free")
# Until calibration runs, thresholds that the benchmark's leave-out calibration supports.
DEFAULT_THRESHOLDS = {"min_inliers": 12.0, "min_score": 0.5}


@dataclass
class ReferenceManifest:
    """The manifest as a record; ``as_dict()`` is what manifest.json holds."""

    data: dict[str, Any]

    def __getitem__(self, k: str) -> Any:
        return self.data[k]

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def count(self) -> int:
        return int(self.data["count"])

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.data.get("thresholds") or DEFAULT_THRESHOLDS)

    @property
    def calibrated(self) -> bool:
        """Whether the thresholds were calibrated on this catalogue (not the defaults)."""
        return (self.data.get("calibration") or {}).get("method", "default") != "default"

    @property
    def embed_first_decides(self) -> float | None:
        """The share of calibration photos the embedding alone answered rightly at the
        embedding-first bar (None: not measured, a DB calibrated before it was)."""
        ef = (self.data.get("calibration") or {}).get("embed_first") or {}
        return float(ef["decides"]) if "decides" in ef else None

    def as_dict(self) -> dict[str, Any]:
        return self.data


def catalog_hash(cards: list[dict[str, Any]], crops_sha: str) -> str:
    h = hashlib.sha256(json.dumps(cards, sort_keys=True).encode())
    h.update(crops_sha.encode())
    return h.hexdigest()
