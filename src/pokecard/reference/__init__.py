"""The reference DB: one embedding (and one set of ORB keypoints) per catalogue card.

Files (keys from :mod:`pokecard.layout`), written atomically through the store:

* ``REFERENCE_EMBEDDINGS`` embeddings.npy  float32 [N, D], L2-normalized, row i = card i
* ``REFERENCE_USEARCH``    usearch.index   the same vectors in a usearch index (key = row)
* ``REFERENCE_INDEX``      index.json      {"card_ids": [row -> card_id]}
* ``REFERENCE_METADATA``   metadata.json   {"cards": [{card_id, name, set_code, set_name, number, rarity}]}
* ``REFERENCE_KEYPOINTS``  keypoints.npz   ORB keypoints of every card (geometric verification)
* ``REFERENCE_MANIFEST``   manifest.json   what built it and how to read it (written last)

Two modes. ``embedding``: the vectors come from an embedding model (an ONNX student with
its model card); the manifest records the model's key/path, sha256 and card identity and a
recognizer running any other model is refused. ``training-free``: no model; the vectors are
the :class:`~pokecard.features.LayoutDescriptor` and the shortlist comes from ORB descriptor
votes, so a real catalogue is recognizable with no training at all.

The modules, bottom up: ``manifest`` (the record and its defaults), ``search`` (the usearch
index and its settings), ``db`` (load + validate + search). ``build`` and ``calibrate`` sit
one layer higher, above :mod:`pokecard.recognize`, since calibration runs the recognizer on
the DB being built; this package's ``__init__`` imports neither, so the recognizer can
import ``pokecard.reference.db`` without a cycle.
"""

from __future__ import annotations

from pokecard.reference.db import ReferenceDB
from pokecard.reference.manifest import DEFAULT_THRESHOLDS, FORMAT, MODES, ReferenceManifest
from pokecard.reference.search import make_usearch, search_settings

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FORMAT",
    "MODES",
    "ReferenceDB",
    "ReferenceManifest",
    "make_usearch",
    "search_settings",
]
