"""Photo -> card: decode, detect + rectify, describe, shortlist, verify, decide.

Which mode a user gets (see docs/recognizer.md):

* reference DB built with a model (``embedding``): the ONNX embedding of the rectified crop
  (the crop as warped, and turned 180 degrees when that is not decisive) searched in usearch
  gives the shortlist, together with the ORB descriptor votes; RANSAC verification re-ranks
  it and decides ``unknown``.
* reference DB built without a model (``training-free``): ORB descriptor votes (LSH over
  every reference descriptor) give the shortlist; RANSAC verification as above.
* ``verify=False``: embedding only (the fast path): top cosine similarity, ``unknown``
  below the calibrated score threshold.

How a photo is searched is a :class:`Policy` (resolved once against the DB's manifest) and a
list of stages (:mod:`pokecard.recognize.stages`): the first stage whose answer is decisive
ends the search. A new stage is a function ``(Searcher, Look) -> Scored | None`` added to
:meth:`Recognizer.stages`.

The answer is a :class:`pokecard.result.Result` (its ``to_json()`` is the CLI's ``--json`` line).
"""

from __future__ import annotations

from pokecard.recognize.look import Look, Memo, Scored, Searcher
from pokecard.recognize.policy import (
    EMBED_FIRST_SHARE,
    FAST_COSINE_SHARE,
    MAX_REGIONS,
    ORIENTATIONS,
    SHORTLISTS,
    STOP_FACTOR,
    STOP_RATIO,
    Policy,
)
from pokecard.recognize.recognizer import DECODE_MIN_SIDE, Recognizer

__all__ = [
    "DECODE_MIN_SIDE",
    "EMBED_FIRST_SHARE",
    "FAST_COSINE_SHARE",
    "MAX_REGIONS",
    "ORIENTATIONS",
    "SHORTLISTS",
    "STOP_FACTOR",
    "STOP_RATIO",
    "Look",
    "Memo",
    "Policy",
    "Recognizer",
    "Scored",
    "Searcher",
]
