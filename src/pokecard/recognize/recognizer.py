"""The recognizer: a reference DB, its embedder and a :class:`Policy`; a photo goes through
the stages of :mod:`pokecard.recognize.stages` and comes out as a :class:`pokecard.result.Result`."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import cv2
import numpy as np

from pokecard import layout, namebar
from pokecard.detect import Detection
from pokecard.embed import create_embedder
from pokecard.embed.base import Embedder
from pokecard.errors import ImageError, PokecardError, ReferenceDBError
from pokecard.features import LayoutDescriptor, Verification, orb_features
from pokecard.imageio import load_rgb
from pokecard.model_files import hef_for, resolve_model
from pokecard.recognize.look import Look, Memo, Scored, beats, leads, ms_since
from pokecard.recognize.policy import ORIENTATIONS, SHORTLISTS, STOP_FACTOR, STOP_RATIO, Policy
from pokecard.recognize.stages import (
    Stage,
    stage_embedding_first,
    stage_fast_detect,
    stage_fast_look,
    stage_refit,
    stage_regions,
    stage_whole_frame,
)
from pokecard.recognize.twins import twin_ranked
from pokecard.reference.db import ReferenceDB
from pokecard.result import Candidate, CardRef, Result
from pokecard.store import Store, open_store

# Large JPEGs are decoded at a reduced scale that keeps this short side (a card across a
# third of a 12 MP photo still fills the 352 x 252 crop).
DECODE_MIN_SIDE = 1024


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
        name_check: bool = True,
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
        self.embedder = embedder_for(self.store, backend, threads)
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
            name_check=name_check,
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
        its kind and beats the second card, and the photo's name bar, where it was read, reaches
        the calibrated name bar threshold (a card with another card's art under another name)."""
        return beats(sc.ranked, self.threshold(sc.verified)) and self.name_ok(sc)

    def name_ok(self, sc: Scored) -> bool:
        """The name bar does not speak against the answer: not checked, not read, or at least
        ``min_name``."""
        bar = self.thresholds.get("min_name")
        return not self.policy.name_check or sc.name is None or bar is None or sc.name >= float(bar)

    def decisive(self, sc: Scored, share: float = 0.0) -> bool:
        """Whether ``sc`` ends the search. Verified: it names a card (:meth:`accepts`) by
        ``STOP_FACTOR`` x the inlier threshold, or by ``STOP_RATIO`` x the second card's score.
        A cosine: beats the second card and reaches the threshold plus ``share`` of the way
        to 1 (a cosine cannot reach twice a threshold of 0.5 or more). Never when exhaustive."""
        if self.policy.exhaustive:
            return False
        thr = self.threshold(sc.verified)
        if not sc.verified:
            return beats(sc.ranked, thr + share * (1.0 - thr))
        if not beats(sc.ranked, thr):
            return False
        best = sc.ranked[0][1]
        second = sc.ranked[1][1] if len(sc.ranked) > 1 else 0.0
        return best >= thr * STOP_FACTOR or best >= STOP_RATIO * second

    # -- scoring ---------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        """The stages a photo goes through, in order; the first decisive answer wins."""
        out: list[Stage] = []
        if self.policy.fast_first:
            out.append(stage_fast_detect)
            if self.policy.embed_first:
                out.append(stage_embedding_first)
            out.append(stage_fast_look)
            if self.policy.verify:
                out.append(stage_refit)
        return [*out, stage_regions, stage_whole_frame]

    def score(self, rgb: np.ndarray, exclude: set[int] | None = None, memo: Memo | None = None) -> Scored:
        """Detect, describe, shortlist and verify, stage by stage (``exclude``: DB rows left out;
        ``memo``: what an earlier scoring of the same photo computed, any policy, any exclusion)."""
        look = Look(rgb, exclude, Memo() if memo is None else memo)
        for stage in self.stages():
            done = stage(self, look)
            if done is not None:
                done.timings = dict(look.timings)
                return self._read_name(rgb, done)
        best = look.best
        assert best is not None, "the regions stage always scores at least the whole frame"
        best.timings = dict(look.timings)
        best.quad_found = look.quick is not None or look.regions_found
        return self._read_name(rgb, best)

    def _read_name(self, rgb: np.ndarray, sc: Scored) -> Scored:
        """The answer's name bar read off the photo through its verified homography (the
        verified answers of a DB that stores name bars; docs/recognizer.md, "the name bar")."""
        strips = self.db.keypoints.name_strips
        if strips is None or not sc.verified or sc.H is None or not sc.ranked:
            return sc
        t0 = time.perf_counter()
        H = namebar.to_photo(sc.detection.corners, sc.detection.crop.shape[:2], sc.H)
        sc.name = namebar.name_score(rgb, H, strips[sc.ranked[0][0]])
        sc.timings["verify"] = sc.timings.get("verify", 0.0) + ms_since(t0)
        return sc

    @property
    def embed_k(self) -> int:
        """Embedding neighbours a region asks for: the answer's top-k and the verification shortlist."""
        return max(self.policy.top_k, self.features.shortlist)

    def embed_rows(
        self, crop: np.ndarray, k: int, exclude: set[int] | None, memo: Memo | None = None
    ) -> tuple[list[tuple[int, float]], float, float]:
        """Embedding top-``k`` (row, cosine) of the crop in both 180-degree orientations, and the
        embed and search time. "sequential": the turned crop only when the crop as warped is
        not decisive (under the cosine threshold, or not ahead of every other card). ``memo``:
        the crop's region memo (its embeddings, once computed)."""
        memo = Memo() if memo is None else memo
        views = [crop, np.ascontiguousarray(crop[::-1, ::-1])]
        best: dict[int, float] = {}
        t_embed = t_search = 0.0
        ranked: list[tuple[int, float]] = []
        both = self.policy.orientations == "both"
        for i, batch in enumerate([views] if both else [views[:1], views[1:]]):
            t0 = time.perf_counter()
            v = memo.get(("embed", both, i), lambda batch=batch: self.embedder.embed(batch))
            t_embed += ms_since(t0)
            t0 = time.perf_counter()
            rows, scores = self.db.search(v, k, exclude=exclude)
            for r, s in zip(rows.reshape(-1), scores.reshape(-1), strict=True):
                if r >= 0 and s > best.get(int(r), -np.inf):
                    best[int(r)] = float(s)
            t_search += ms_since(t0)
            ranked = sorted(best.items(), key=lambda t: -t[1])[:k]
            if not self.policy.exhaustive and leads(ranked, self.threshold(False)):
                break
        return ranked, t_embed, t_search

    def score_region(
        self,
        det: Detection,
        exclude: set[int] | None,
        emb_ranked: list[tuple[int, float]] | None = None,
        memo: Memo | None = None,
    ) -> Scored:
        """Score one region (``emb_ranked``: its embedding top-k, when already computed;
        ``memo``: the photo's memo, :class:`Memo`).

        The descriptor votes' shortlist is verified first, and the embedding's other cards
        (embedded only then) when that is not decisive: most photos end at the first group."""
        p = self.policy
        rm = (Memo() if memo is None else memo).region(det)
        tm = {"embed": 0.0, "search": 0.0, "verify": 0.0}
        n = self.features.shortlist

        def embedding() -> list[tuple[int, float]]:
            nonlocal emb_ranked
            if emb_ranked is None:
                emb_ranked, te, ts = self.embed_rows(det.crop, self.embed_k, exclude, rm)
                tm["embed"] += te
                tm["search"] += ts
            return emb_ranked

        if not p.verify:
            return Scored(det, embedding()[: p.top_k], False, tm)
        t0 = time.perf_counter()
        nfeat = self.features.query_features * (1 if det.found else 2)
        xy, desc = rm.get("orb", lambda: orb_features(det.crop, nfeat, self.features.fast_threshold))
        tm["embed"] += ms_since(t0)
        voted: list[int] = []
        if p.shortlist in ("votes", "both"):
            t0 = time.perf_counter()
            votes = self.db.keypoints.votes(
                desc, exclude, every=rm.get("votes", lambda: self.db.keypoints.votes(desc))
            )
            top = np.argsort(-votes)[: max(n, p.top_k)]
            voted = [int(r) for r in top if votes[r] > 0][:n]
            tm["search"] += ms_since(t0)
        groups = [lambda: voted] if p.shortlist in ("votes", "both") else []
        if p.shortlist in ("embedding", "both"):
            groups.append(lambda: [r for r, _ in embedding()[:n] if r not in voted])
        ver: list[Verification] = []
        sc = Scored(det, [], True, tm)
        for group in groups:
            rows = group()
            if not rows:
                continue
            t0 = time.perf_counter()
            hw = det.crop.shape[:2]
            ver += self.db.keypoints.verify(
                xy,
                desc,
                rows,
                query_hw=hw,
                exclude=exclude if p.absent else None,
                memo=rm.get("geometry", dict),
            )
            tm["verify"] += ms_since(t0)
            sc = Scored(det, twin_ranked(ver, self.features.score)[: p.top_k], True, tm)
            sc.H = next((v.H for v in ver if sc.ranked and v.row == sc.ranked[0][0]), None)
            if self.decisive(sc):
                break
        return sc

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
        timings["total"] = ms_since(t_start)
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
            return Result.failed(name, str(e), ms_since(t_start))
        t_decode = ms_since(t_start)
        if min(rgb.shape[:2]) < 16:
            return Result.failed(
                name,
                f"{name}: image is {rgb.shape[1]}x{rgb.shape[0]}, too small to hold a card",
                ms_since(t_start),
            )
        return self._result(name, self.score(rgb), t_decode, t_start)


def embedder_for(st: Store, backend: str, threads: int | None) -> Embedder:
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
