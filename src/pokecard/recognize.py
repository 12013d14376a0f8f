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
list of stages (:mod:`pokecard.recognize` ``STAGE_ORDER``): the first stage whose answer is
decisive ends the search. A new stage is a function ``(Recognizer, Look) -> Scored | None``
added to :meth:`Recognizer.stages`.

The answer is a :class:`pokecard.result.Result` (its ``to_json()`` is the CLI's ``--json`` line).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pokecard import layout
from pokecard.detect import Detection, detect_all, detect_fast, fallback
from pokecard.embed import create_embedder
from pokecard.embed.base import Embedder
from pokecard.errors import ImageError, PokecardError, ReferenceDBError
from pokecard.features import LayoutDescriptor, orb_features
from pokecard.imageio import load_rgb
from pokecard.model_files import hef_for, resolve_model
from pokecard.reference.db import ReferenceDB
from pokecard.reference.manifest import ReferenceManifest
from pokecard.result import Candidate, CardRef, Result
from pokecard.store import Store, open_store

log = logging.getLogger(__name__)

SHORTLISTS = ("auto", "embedding", "votes", "both")
# The 180-degree ambiguity of the warp: "sequential" embeds the turned crop only when the
# crop as warped is not decisive; "both" embeds the two in one batch (docs/recognizer.md).
ORIENTATIONS = ("sequential", "both")
# Card-like quads scored before the whole frame.
MAX_REGIONS = 2
# A verified region ends the search at this multiple of the inlier threshold (docs/recognizer.md, "Speed").
STOP_FACTOR = 2.0
# A cosine decides only this share of the way from its calibrated threshold to 1: the fast
# look's rougher quad, and an answer with no verification at all (docs/recognizer.md).
FAST_COSINE_SHARE = 0.5
EMBED_FIRST_SHARE = 0.6
# Large JPEGs are decoded at a reduced scale that keeps this short side (a card across a
# third of a 12 MP photo still fills the 352 x 252 crop).
DECODE_MIN_SIDE = 1024


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _beats(ranked: list[tuple[int, float]], bar: float) -> bool:
    """The best card reaches ``bar`` and is ahead of the second one (0 when there is none)."""
    if not ranked:
        return False
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][1] >= bar and ranked[0][1] > second


@dataclass(frozen=True)
class Policy:
    """How a photo is searched, resolved once against a DB (:meth:`resolve`).

    ``verify``: RANSAC verification (else embedding only). ``shortlist``: where verified
    candidates come from (embedding, votes, both). ``fast_first``: a cheap first look whose
    match is kept only when decisive. ``embed_first``: that look's embedding may answer with
    no verification. ``exhaustive``: no early stop anywhere (calibration scores every photo
    this way, so its scores do not depend on the thresholds it calibrates)."""

    verify: bool = True
    shortlist: str = "votes"
    orientations: str = "sequential"
    fast_first: bool = True
    embed_first: bool = False
    exhaustive: bool = False
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
        top_k: int = 5,
    ) -> Policy:
        """Fill the choices left to the DB (None, "auto"): verified; a model DB shortlists from
        both sources; the fast look unless embedding-only on a training-free DB (its layout
        cosines almost never clear the fast bar); embedding first only with a model and
        calibrated thresholds (an uncalibrated cosine threshold says nothing about how high a
        wrong card's cosine can go)."""
        if shortlist not in SHORTLISTS:
            raise ReferenceDBError(
                f"unknown shortlist source {shortlist!r}: use one of {', '.join(SHORTLISTS)}"
            )
        model_db = manifest.mode == "embedding"
        v = True if verify is None else bool(verify)
        if shortlist == "auto":
            shortlist = "both" if model_db else "votes"
        ff = (v or model_db) if fast_first is None else bool(fast_first)
        ef = manifest.calibrated if embed_first is None else bool(embed_first)
        return cls(
            verify=v,
            shortlist=shortlist,
            orientations=orientations,
            fast_first=ff,
            embed_first=ef and v and model_db,
            top_k=max(1, int(top_k)),
        )

    def describe(self, db_mode: str) -> str:
        if not self.verify:
            return f"{db_mode} only"
        src = {"votes": "descriptor votes", "embedding": "embedding", "both": "embedding + descriptor votes"}
        first = "embedding first (verified when not decisive), " if self.embed_first else ""
        return f"{first}{src[self.shortlist]} shortlist + verification"


@dataclass
class Scored:
    """Raw scoring of one photo before the ok/unknown decision."""

    detection: Detection
    ranked: list[tuple[int, float]]  # (row, score) best first, distinct cards
    verified: bool
    timings: dict[str, float] = field(default_factory=dict)
    quad_found: bool = False  # any card-like quad in the frame (not only the one that scored best)


@dataclass
class Look:
    """One photo's search in progress: what the stages found so far, and their time."""

    rgb: np.ndarray
    exclude: set[int] | None
    timings: dict[str, float] = field(
        default_factory=lambda: {"detect": 0.0, "embed": 0.0, "search": 0.0, "verify": 0.0}
    )
    quick: Detection | None = None  # the fast look's quad
    quick_emb: list[tuple[int, float]] | None = None  # its embedding top-k, when computed
    best: Scored | None = None  # the best region scored so far
    regions_found: bool = False

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            self.timings[k] = self.timings.get(k, 0.0) + v

    def keep(self, sc: Scored) -> None:
        b = self.best
        if b is None or (sc.ranked and (not b.ranked or sc.ranked[0][1] > b.ranked[0][1])):
            self.best = sc


Stage = Callable[["Recognizer", Look], "Scored | None"]


class Recognizer:
    """Recognize cards against the reference DB under a project root."""

    def __init__(
        self,
        root_or_store: Store | str | os.PathLike[str],
        *,
        backend: str = "auto",
        threads: int | None = None,
        top_k: int = 5,
        verify: bool | None = None,
        shortlist: str = "auto",
        orientations: str = "sequential",
        fast_first: bool | None = None,
        embed_first: bool | None = None,
    ) -> None:
        if threads:
            cv2.setNumThreads(int(threads))
        if shortlist not in SHORTLISTS:
            raise ReferenceDBError(
                f"unknown shortlist source {shortlist!r}: use one of {', '.join(SHORTLISTS)}"
            )
        if orientations not in ORIENTATIONS:
            raise ReferenceDBError(
                f"unknown orientations {orientations!r}: use one of {', '.join(ORIENTATIONS)}"
            )
        self.store = open_store(root_or_store)
        self.embedder = _embedder_for(self.store, backend, threads)
        self.db = ReferenceDB.load(self.store, embedder=self.embedder)
        self.features = self.db.keypoints.config
        self.thresholds = self.db.manifest.thresholds
        self.policy = Policy.resolve(
            self.db.manifest,
            verify=verify,
            shortlist=shortlist,
            orientations=orientations,
            fast_first=fast_first,
            embed_first=embed_first,
            top_k=top_k,
        )
        self._prepare()

    def _prepare(self) -> None:
        if self.policy.verify:
            self.db.keypoints.prepare()  # the LSH index now, not inside the first photo's timing

    def with_policy(self, **changes: Any) -> Recognizer:
        """The same DB and model searched with other choices (e.g. ``exhaustive=True``)."""
        other = dataclasses.replace(self.policy, **changes)
        rec = object.__new__(Recognizer)
        rec.__dict__.update(self.__dict__)
        rec.policy = dataclasses.replace(other, embed_first=other.embed_first and other.verify)
        rec._prepare()
        return rec

    @property
    def mode(self) -> str:
        return self.policy.describe(self.db.mode)

    # -- the ok / unknown bars --------------------------------------------------------
    def threshold(self, verified: bool) -> float:
        """The calibrated unknown threshold of a score of this kind (inliers, or cosine)."""
        return float(self.thresholds["min_inliers"] if verified else self.thresholds["min_score"])

    def accepts(self, sc: Scored) -> bool:
        """Whether ``sc`` names a card (status ``ok``): its best score reaches the threshold of
        its kind and beats the second card."""
        return _beats(sc.ranked, self.threshold(sc.verified))

    def decisive(self, sc: Scored, share: float = 0.0) -> bool:
        """Whether ``sc`` ends the search: beats the second card and reaches ``STOP_FACTOR`` x
        the inlier threshold when verified, else the cosine threshold plus ``share`` of the
        way to 1 (a cosine cannot reach twice a threshold of 0.5 or more). Never when exhaustive."""
        if self.policy.exhaustive:
            return False
        thr = self.threshold(sc.verified)
        return _beats(sc.ranked, thr * STOP_FACTOR if sc.verified else thr + share * (1.0 - thr))

    # -- scoring ---------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        """The stages a photo goes through, in order; the first decisive answer wins."""
        out: list[Stage] = []
        if self.policy.fast_first:
            out.append(stage_fast_detect)
            if self.policy.embed_first:
                out.append(stage_embedding_first)
            out.append(stage_fast_look)
        return [*out, stage_regions, stage_whole_frame]

    def score(self, rgb: np.ndarray, exclude: set[int] | None = None) -> Scored:
        """Detect, describe, shortlist and verify, stage by stage (``exclude``: DB rows left out)."""
        look = Look(rgb, exclude)
        for stage in self.stages():
            done = stage(self, look)
            if done is not None:
                done.timings = dict(look.timings)
                return done
        best = look.best
        assert best is not None, "the regions stage always scores at least the whole frame"
        best.timings = dict(look.timings)
        best.quad_found = look.quick is not None or look.regions_found
        return best

    @property
    def embed_k(self) -> int:
        """Embedding neighbours a region asks for: the answer's top-k and the verification shortlist."""
        return max(self.policy.top_k, self.features.shortlist)

    def embed_rows(
        self, crop: np.ndarray, k: int, exclude: set[int] | None
    ) -> tuple[list[tuple[int, float]], float, float]:
        """Embedding top-``k`` (row, cosine) of the crop in both 180-degree orientations, and the
        embed and search time. "sequential": the turned crop only when the crop as warped is
        not decisive (under the cosine threshold, or not ahead of every other card)."""
        views = [crop, np.ascontiguousarray(crop[::-1, ::-1])]
        best: dict[int, float] = {}
        t_embed = t_search = 0.0
        ranked: list[tuple[int, float]] = []
        for batch in [views] if self.policy.orientations == "both" else [views[:1], views[1:]]:
            t0 = time.perf_counter()
            v = self.embedder.embed(batch)
            t_embed += _ms(t0)
            t0 = time.perf_counter()
            rows, scores = self.db.search(v, k, exclude=exclude)
            for r, s in zip(rows.reshape(-1), scores.reshape(-1), strict=True):
                if r >= 0 and s > best.get(int(r), -np.inf):
                    best[int(r)] = float(s)
            t_search += _ms(t0)
            ranked = sorted(best.items(), key=lambda t: -t[1])[:k]
            if not self.policy.exhaustive and _leads(ranked, self.threshold(False)):
                break
        return ranked, t_embed, t_search

    def score_region(
        self, det: Detection, exclude: set[int] | None, emb_ranked: list[tuple[int, float]] | None = None
    ) -> Scored:
        """Score one region (``emb_ranked``: its embedding top-k, when already computed)."""
        p = self.policy
        tm = {"embed": 0.0, "search": 0.0, "verify": 0.0}
        if emb_ranked is None:
            emb_ranked = []
            if not p.verify or p.shortlist in ("embedding", "both"):
                emb_ranked, te, ts = self.embed_rows(det.crop, self.embed_k, exclude)
                tm["embed"] += te
                tm["search"] += ts
        if not p.verify:
            return Scored(det, emb_ranked[: p.top_k], False, tm)
        t0 = time.perf_counter()
        nfeat = self.features.query_features * (1 if det.found else 2)
        xy, desc = orb_features(det.crop, nfeat, self.features.fast_threshold)
        tm["embed"] += _ms(t0)
        n = self.features.shortlist
        rows: list[int] = []
        if p.shortlist in ("embedding", "both"):
            rows += [r for r, _ in emb_ranked[:n]]
        if p.shortlist in ("votes", "both"):
            t0 = time.perf_counter()
            votes = self.db.keypoints.votes(desc, exclude)
            top = np.argsort(-votes)[: max(n, p.top_k)]
            rows += [int(r) for r in top if votes[r] > 0 and int(r) not in rows][:n]
            tm["search"] += _ms(t0)
        t0 = time.perf_counter()
        ver = self.db.keypoints.verify(xy, desc, rows, query_hw=det.crop.shape[:2])
        tm["verify"] += _ms(t0)
        ranked = sorted(((v.row, float(v.score(self.features.score))) for v in ver), key=lambda t: -t[1])
        return Scored(det, ranked[: p.top_k], True, tm)

    # -- results -------------------------------------------------------------------
    def _result(self, name: str, sc: Scored, t_decode: float, t_start: float) -> Result:
        ranked = sc.ranked
        best_row, best = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if self.accepts(sc):
            status = "ok"
        elif sc.detection.blank or not sc.quad_found:
            status = "no_card"
        else:
            status = "unknown"
        card = None
        if status == "ok" and best_row is not None:
            c = self.db.cards[self.db.card_ids[best_row]]
            card = CardRef(c["card_id"], c.get("name"), c.get("set_code"), c.get("number"))
        timings = {
            "decode": t_decode,
            **{k: sc.timings.get(k, 0.0) for k in ("detect", "embed", "search", "verify")},
        }
        timings["total"] = _ms(t_start)
        return Result(
            file=name,
            status=status,
            card=card,
            score=round(float(best), 4) if ranked else None,
            margin=round(float(best - second), 4) if ranked else None,
            top_k=tuple(Candidate(self.db.card_ids[r], round(float(s), 4)) for r, s in ranked),
            timings_ms={k: round(v, 3) for k, v in timings.items()},
        )

    def recognize_array(self, rgb: np.ndarray, name: str = "<array>") -> Result:
        t_start = time.perf_counter()
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 16:
            return Result.failed(
                name,
                f"{name}: expected a uint8 RGB image [H, W, 3] of at least 16 x 16, got {rgb.dtype} {rgb.shape}",
            )
        return self._result(name, self.score(rgb), 0.0, t_start)

    def recognize_file(self, path: str | os.PathLike[str]) -> Result:
        name = str(path)
        t_start = time.perf_counter()
        try:
            rgb = load_rgb(path, min_side=DECODE_MIN_SIDE)
        except ImageError as e:
            return Result.failed(name, str(e), _ms(t_start))
        t_decode = _ms(t_start)
        if min(rgb.shape[:2]) < 16:
            return Result.failed(
                name,
                f"{name}: image is {rgb.shape[1]}x{rgb.shape[0]}, too small to hold a card",
                _ms(t_start),
            )
        return self._result(name, self.score(rgb), t_decode, t_start)


def _leads(ranked: list[tuple[int, float]], bar: float) -> bool:
    """The best card reaches ``bar`` and no other card is level with it (a lone card leads)."""
    return bool(ranked) and ranked[0][1] >= bar and (len(ranked) < 2 or ranked[0][1] > ranked[1][1])


def _embedder_for(st: Store, backend: str, threads: int | None) -> Embedder:
    """The embedder that built the DB under ``st``: its model, or the layout descriptor."""
    if not st.exists(layout.REFERENCE_MANIFEST):
        raise ReferenceDBError(
            f"{st.url}{layout.REFERENCE}: no reference DB here; run `pokecard index build --root {st.url}` first"
        )
    man = st.get_json(layout.REFERENCE_MANIFEST)
    if man.get("mode") != "embedding":
        return LayoutDescriptor()
    m = man.get("model") or {}
    where = m.get("key") or m.get("path")
    try:
        resolved = resolve_model(st, where)
    except PokecardError as e:
        raise ReferenceDBError(
            f"{st.url}{layout.REFERENCE} was built by model {where}, which is not available ({e}); "
            "restore it or rebuild with `pokecard index build`"
        ) from e
    if resolved is None:
        raise ReferenceDBError(f"{st.url}{layout.REFERENCE}: its manifest names no model; rebuild it")
    if backend == "hailort":  # the chip runs the HEF compiled from the model that built the DB
        resolved = hef_for(st, resolved)
    return create_embedder(resolved.path, backend=backend, threads=threads)


# -- the stages (Recognizer.stages) ------------------------------------------------
def stage_fast_detect(rec: Recognizer, look: Look) -> Scored | None:
    """The cheap first look at the photo (detect_fast): a quad, never an answer by itself."""
    t0 = time.perf_counter()
    look.quick = detect_fast(look.rgb)
    look.timings["detect"] += _ms(t0)
    return None


def stage_embedding_first(rec: Recognizer, look: Look) -> Scored | None:
    """The fast quad's embedding answers with no verification when decisive (EMBED_FIRST_SHARE)."""
    if look.quick is None:
        return None
    emb, te, ts = rec.embed_rows(look.quick.crop, rec.embed_k, look.exclude)
    look.add({"embed": te, "search": ts})
    look.quick_emb = emb
    first = Scored(look.quick, emb[: rec.policy.top_k], False)
    if rec.decisive(first, share=EMBED_FIRST_SHARE):
        first.quad_found = True
        return first
    return None


def stage_fast_look(rec: Recognizer, look: Look) -> Scored | None:
    """The fast quad scored in full; kept only when decisive (FAST_COSINE_SHARE for a cosine)."""
    if look.quick is None:
        return None
    sc = rec.score_region(look.quick, look.exclude, look.quick_emb)
    look.add(sc.timings)
    if rec.decisive(sc, share=FAST_COSINE_SHARE):
        sc.quad_found = True
        return sc
    look.keep(sc)
    return None


def stage_regions(rec: Recognizer, look: Look) -> Scored | None:
    """Up to MAX_REGIONS card-like quads of the full detector (other than the fast look's), or
    the whole frame when there is none; a decisive region ends the search with the best one."""
    t0 = time.perf_counter()
    dets = detect_all(look.rgb, limit=MAX_REGIONS)
    look.regions_found = bool(dets and dets[0].found)
    if look.quick is not None:  # not the quad the fast look already scored
        tol = 0.01 * float(max(look.rgb.shape[:2]))
        dets = [d for d in dets if not (d.found and np.abs(d.corners - look.quick.corners).max() < tol)]
    look.timings["detect"] += _ms(t0)
    for det in dets:
        sc = rec.score_region(det, look.exclude)
        look.add(sc.timings)
        look.keep(sc)
        if rec.decisive(sc):
            return _best(look)
    return None


def stage_whole_frame(rec: Recognizer, look: Look) -> Scored | None:
    """The last resort when no quad was decisive: the whole frame, verified."""
    if not (look.regions_found and rec.policy.verify):
        return None
    t0 = time.perf_counter()
    det = fallback(look.rgb)
    look.timings["detect"] += _ms(t0)
    sc = rec.score_region(det, look.exclude)
    look.add(sc.timings)
    look.keep(sc)
    return _best(look) if rec.decisive(sc) else None


def _best(look: Look) -> Scored:
    assert look.best is not None
    look.best.quad_found = look.quick is not None or look.regions_found
    return look.best
