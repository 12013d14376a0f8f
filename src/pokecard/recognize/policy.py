"""How a photo is searched (:class:`Policy`), resolved once against the DB's manifest, and
the bars that end a search early (docs/recognizer.md, "Speed")."""

from __future__ import annotations

from dataclasses import dataclass

from pokecard.errors import ReferenceDBError
from pokecard.reference.manifest import ReferenceManifest

SHORTLISTS = ("auto", "embedding", "votes", "both")
# The 180-degree ambiguity of the warp: "sequential" embeds the turned crop only when the
# crop as warped is not decisive; "both" embeds the two in one batch (docs/recognizer.md).
ORIENTATIONS = ("sequential", "both")
# Card-like quads scored before the whole frame.
MAX_REGIONS = 2
# A verified region ends the search at this multiple of the inlier threshold (docs/recognizer.md, "Speed").
STOP_FACTOR = 2.0
# ...or when it names a card this many times the second card's score: at 17,592 cards most
# right answers clear the threshold by less than 2 x, far ahead of any other card (docs/scale.md)
STOP_RATIO = 3.0
# The fast look's best card places its own outline in the photo (the refit stage) from this
# many distinctive inliers: fewer make the homography too loose to place it (docs/scale.md).
REFIT_MIN_SCORE = 6
# A cosine decides only this share of the way from its calibrated threshold to 1: the fast
# look's rougher quad, and an answer with no verification at all (docs/recognizer.md).
FAST_COSINE_SHARE = 0.5
EMBED_FIRST_SHARE = 0.6
# The embedding-first look costs two embeddings a photo and saves the votes and RANSAC when it
# answers: on by default only where calibration saw it answer at least this share of photos
# (218 real cards: most; 17,592 generated cards: about 1 %; docs/scale.md).
EMBED_FIRST_MIN_DECIDES = 0.25


@dataclass(frozen=True)
class Policy:
    """How a photo is searched, resolved once against a DB (:meth:`resolve`).

    ``verify``: RANSAC verification (else embedding only). ``shortlist``: where verified
    candidates come from (embedding, votes, both). ``fast_first``: a cheap first look whose
    match is kept only when decisive. ``embed_first``: that look's embedding may answer with
    no verification. ``exhaustive``: no early stop anywhere (calibration scores every photo
    this way, so its scores do not depend on the thresholds it calibrates). ``absent``: the
    cards a search excludes are scored as absent from the DB, template flags included (what a
    DB built without them would score; the benchmarks' unknowns, docs/scale.md). ``name_check``:
    a verified answer's name bar must read as the card's (``min_name``, docs/recognizer.md)."""

    verify: bool = True
    shortlist: str = "votes"
    orientations: str = "sequential"
    fast_first: bool = True
    embed_first: bool = False
    exhaustive: bool = False
    absent: bool = False
    name_check: bool = True
    top_k: int = 5

    def __post_init__(self) -> None:
        if self.shortlist not in SHORTLISTS[1:]:
            raise ReferenceDBError(
                f"unknown shortlist source {self.shortlist!r}: use one of {', '.join(SHORTLISTS)}"
            )
        if self.orientations not in ORIENTATIONS:
            raise ReferenceDBError(
                f"unknown orientations {self.orientations!r}: use one of {', '.join(ORIENTATIONS)}"
            )

    @classmethod
    def resolve(
        cls,
        manifest: ReferenceManifest,
        *,
        verify: bool | None = None,
        shortlist: str = "auto",
        orientations: str = "sequential",
        fast_first: bool | None = None,
        embed_first: bool | None = None,
        name_check: bool = True,
        top_k: int = 5,
    ) -> Policy:
        """Fill the choices left to the DB (None, "auto"): verified; a model DB shortlists from
        both sources; the fast look unless embedding-only on a training-free DB (its layout
        cosines almost never clear the fast bar); embedding first only with a model and
        calibrated thresholds (an uncalibrated cosine threshold says nothing about how high a
        wrong card's cosine can go), where calibration saw it answer often enough
        (``EMBED_FIRST_MIN_DECIDES``)."""
        if shortlist not in SHORTLISTS:
            raise ReferenceDBError(
                f"unknown shortlist source {shortlist!r}: use one of {', '.join(SHORTLISTS)}"
            )
        model_db = manifest.mode == "embedding"
        v = True if verify is None else bool(verify)
        if shortlist == "auto":
            shortlist = "both" if model_db else "votes"
        ff = (v or model_db) if fast_first is None else bool(fast_first)
        if embed_first is None:
            decides = manifest.embed_first_decides
            ef = manifest.calibrated and (decides is None or decides >= EMBED_FIRST_MIN_DECIDES)
        else:
            ef = bool(embed_first)
        return cls(
            verify=v,
            shortlist=shortlist,
            orientations=orientations,
            fast_first=ff,
            embed_first=ef and v and model_db,
            name_check=bool(name_check),
            top_k=max(1, int(top_k)),
        )

    def describe(self, db_mode: str) -> str:
        if not self.verify:
            return f"{db_mode} only"
        src = {"votes": "descriptor votes", "embedding": "embedding", "both": "embedding + descriptor votes"}
        first = "embedding first (verified when not decisive), " if self.embed_first else ""
        return f"{first}{src[self.shortlist]} shortlist + verification"
