"""Local features and the training-free parts of the recognizer.

* ORB keypoints (``cv2.ORB_create``) of every reference canonical crop are computed once at
  ``index build`` time and stored in the reference DB (``REFERENCE_KEYPOINTS``).
* :class:`KeypointDB` holds them and answers two questions:
  - ``shortlist``: which cards share the most descriptors with the query (an LSH index of
    the reference descriptors stored with the DB, :mod:`pokecard.votes`; nearest-neighbour
    votes per card). Needs no training.
  - ``verify``: for each shortlisted card, ratio-test matches + RANSAC homography; the
    count of inliers on *distinctive* reference keypoints re-ranks the shortlist and is the
    principled unknown test. Keypoints that another card has at the same place (frame,
    text box, energy symbols: the template) are flagged at build time and do not count,
    so a card outside the catalogue does not score on the template it shares.
* :class:`LayoutDescriptor` is a training-free global descriptor (a small, blurred,
  mean-removed Lab thumbnail of the rectified crop). The training-free reference DB stores
  it as its "embedding", so every DB has the same files and the same usearch path.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pokecard.card import CANONICAL_CORNERS, CANONICAL_HW
from pokecard.errors import ReferenceDBError
from pokecard.template import COUNT_PARTS, TemplateConfig, TemplateFlagger, as_points, count_close, in_sample
from pokecard.votes import VoteIndex

log = logging.getLogger(__name__)

DESC_BYTES = 32  # ORB: 256-bit binary descriptors
_REF_CORNERS = np.array(CANONICAL_CORNERS, np.float32).reshape(-1, 1, 2)


@dataclass
class FeatureConfig:
    """Parameters of the local-feature stages; stored in the manifest so query == reference."""

    ref_features: int = 300
    query_features: int = 500
    fast_threshold: int = 10
    vote_max_distance: int = 64  # Hamming distance (of 256 bits) for a descriptor vote
    ratio: float = 0.8  # Lowe ratio test in verification
    ransac_px: float = 6.0  # reprojection threshold in canonical-crop pixels
    ransac_iters: int = 500  # RANSAC iteration cap (a wrong card, with few inliers, always runs to it)
    # the homography estimator: "ransac", or "usac" (OpenCV's USAC_FAST: 16x faster on a wrong
    # card's matches, but more absent twins clear the inlier bar on small catalogues, which
    # raises the name bar; not the default: docs/scale.md, "Sixth round")
    homography: str = "ransac"
    shortlist: int = 4  # cards verified per photo
    # The art window (share of the canonical height): frame, text box and symbols are shared
    # by every card of a template, the art is not, so only inliers here count as evidence.
    art_window: tuple[float, float] = (0.09, 0.56)
    # A reference keypoint is "common" (template: frame, text box, symbols) when another card
    # has a descriptor within this Hamming distance at about the same place (px, canonical).
    common_distance: int = 48
    common_px: float = 10.0
    # Template flags above this many cards: a hashed sample of about half to all of this many
    # cards, plus each card's nearest cards by embedding and of the same name (docs/scale.md).
    template_sample: int = 256
    template_neighbours: int = 8
    template_same_name: int = 16
    template_art_neighbours: int = 8
    template_art_cosine: float = 0.94
    score: str = "distinct"  # what counts as evidence: "distinct" | "art" | "all" inliers
    # the vote index (pokecard.votes): tables x key bits of each ORB descriptor, one bucket
    # probed per table; a bucket over the cap is skipped (docs/scale.md)
    lsh: dict[str, int] = field(default_factory=lambda: {"table_number": 12, "key_size": 20})
    vote_bucket_cap: int = 32

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def template(self) -> TemplateConfig:
        return TemplateConfig(
            distance=self.common_distance,
            px=self.common_px,
            sample=self.template_sample,
            neighbours=self.template_neighbours,
            same_name=self.template_same_name,
            art_neighbours=self.template_art_neighbours,
            art_cosine=self.template_art_cosine,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureConfig:
        """The settings a DB was built with; what its manifest predates keeps that build's value
        (its calibration was measured with it)."""
        known = set(cls.__dataclass_fields__)
        legacy = {"homography": "ransac", "vote_bucket_cap": 64}
        return cls(**(legacy | {k: v for k, v in d.items() if k in known}))

    def homography_method(self) -> int:
        """The OpenCV flag of :attr:`homography`."""
        import cv2

        methods = {"usac": cv2.USAC_FAST, "ransac": cv2.RANSAC}
        if self.homography not in methods:
            raise ReferenceDBError(
                f"features.homography {self.homography!r} is not a homography estimator: use {' or '.join(methods)}"
            )
        return methods[self.homography]


def _gray(img: np.ndarray) -> np.ndarray:
    import cv2

    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def orb_features(img: np.ndarray, n: int, fast_threshold: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoints of an RGB or gray image: (xy float32 [M, 2], descriptors uint8 [M, 32])."""
    import cv2

    orb = cv2.ORB_create(
        nfeatures=int(n),
        scaleFactor=1.2,
        nlevels=8,
        edgeThreshold=15,
        patchSize=31,
        fastThreshold=fast_threshold,
    )
    kps, desc = orb.detectAndCompute(_gray(img), None)
    if desc is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, DESC_BYTES), np.uint8)
    xy = np.array([k.pt for k in kps], dtype=np.float32)
    return xy, desc


@dataclass
class Verification:
    row: int
    inliers: int  # all RANSAC inliers
    matches: int  # ratio-test matches
    art_inliers: int = 0  # inliers inside the art window of the reference
    distinct_inliers: int = 0  # inliers on reference keypoints no other card shares (card-specific)
    # the query keypoints the inliers are on (sorted): two cards explaining the same ones share art
    query_inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # those of them on reference keypoints outside the art window (name, text, number)
    query_text: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # the verified homography, reference (canonical card) -> query crop; None when not verified
    H: np.ndarray | None = None

    def score(self, kind: str) -> int:
        return {"distinct": self.distinct_inliers, "art": self.art_inliers}.get(kind, self.inliers)


class KeypointDB:
    """Reference ORB keypoints of every card (row order = reference DB rows)."""

    def __init__(
        self,
        xy: np.ndarray,
        desc: np.ndarray,
        offsets: np.ndarray,
        config: FeatureConfig,
        common: np.ndarray | None = None,
        votes: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.xy = np.ascontiguousarray(xy, dtype=np.float32)
        self.desc = np.ascontiguousarray(desc, dtype=np.uint8)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.config = config
        if len(self.xy) != len(self.desc) or self.offsets[-1] != len(self.desc) or self.offsets[0] != 0:
            raise ReferenceDBError(
                f"keypoints are inconsistent: {len(self.xy)} positions, {len(self.desc)} descriptors, offsets end at {self.offsets[-1]}"
            )
        self.owner = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int32), np.diff(self.offsets))
        try:
            self._votes = VoteIndex.from_arrays(votes) if votes else None
        except ValueError as e:
            raise ReferenceDBError(f"keypoints: {e}") from e
        lsh = config.lsh
        if self._votes is not None and self._votes.bits.shape != (lsh["table_number"], lsh["key_size"]):
            raise ReferenceDBError(
                f"keypoints: the vote index has {self._votes.bits.shape} tables x bits, the settings say "
                f"{lsh['table_number']} x {lsh['key_size']}"
            )
        # the template counts behind the flags (keypoints.npz of a built DB): what leaving a card out undoes
        self._parts = {k: votes[k] for k in COUNT_PARTS if k in votes} if votes else {}
        # every card's name bar (pokecard.namebar), when the DB stores them: the answer's name check
        self.name_strips: np.ndarray | None = votes.get("name_strip") if votes else None
        if self.name_strips is not None and len(self.name_strips) != self.count:
            raise ReferenceDBError(f"keypoints: {len(self.name_strips)} name bars for {self.count} cards")
        self._card_ids: list[str] | None = None  # set_sample: who is in the sample, hashed on first use
        self._sampled: np.ndarray | None = None
        self.common = np.zeros(len(self.desc), bool) if common is None else np.asarray(common, bool)
        if common is None and len(self.desc):
            self.common = self._find_common()
        if len(self.common) != len(self.desc):
            raise ReferenceDBError(
                f"keypoints are inconsistent: {len(self.common)} template flags for {len(self.desc)} descriptors"
            )

    def _find_common(self) -> np.ndarray:
        """Template flags when none were stored: every card against every other (exact; small DBs).

        The reference build flags a sample and the related cards instead (:mod:`pokecard.template`).
        """
        f = TemplateFlagger(self.xy, self.desc, self.offsets, self.config.template())
        return f.sample_counts(np.ones(self.count, bool)) > 0

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    def set_sample(self, card_ids: list[str]) -> None:
        """The card ids whose hash says which cards the stored sample counts were counted against."""
        if "sample_rate" in self._parts and len(card_ids) == self.count:
            self._card_ids = card_ids

    def _in_sample(self) -> np.ndarray | None:
        if self._sampled is None and self._card_ids is not None:  # not at load: only exclusions read it
            self._sampled = in_sample(self._card_ids, float(np.asarray(self._parts["sample_rate"])[0]))
        return self._sampled

    def common_of(self, row: int, exclude: set[int] | None = None) -> np.ndarray:
        """Template flags of ``row``'s keypoints; with ``exclude``, as a DB without those cards
        would flag them: their close keypoints taken out of the stored counts. A left-out card's
        twin then scores as a card not in the catalogue sees it (``Policy.absent``, the
        benchmarks; docs/recognizer.md, "Unknown: calibration"). Stored flags when the counts
        are absent."""
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        flags = self.common[a:b]
        z = self._parts
        sampled = self._in_sample() if exclude else None
        if sampled is None or len(z) < len(COUNT_PARTS) or a == b:
            return flags
        ro = z["related_offsets"]
        related = np.asarray(z["related_rows"][int(ro[row]) : int(ro[row + 1])])
        cs = cr = None
        for x in sorted(exclude):
            in_s, in_r = bool(sampled[x]), bool(np.any(related == x))
            if x == row or not (in_s or in_r):
                continue
            if cs is None:
                cs = np.array(z["sample_counts"][a:b], np.int64)
                cr = np.array(z["related_counts"][a:b], np.int64)
            close = count_close(self._points(row), self._points(x), self.config.template())
            cs -= close if in_s else 0
            cr -= close if in_r else 0
        return flags if cs is None else (cs > 0) | (cr > 0)

    def _points(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return as_points(*self.card(row), self.config.common_px)

    @classmethod
    def from_images(
        cls, images: list[np.ndarray] | Any, config: FeatureConfig, advance: Any = None
    ) -> KeypointDB:
        xs, ds, offs = [], [], [0]
        for img in images:
            xy, d = orb_features(img, config.ref_features, config.fast_threshold)
            xs.append(xy)
            ds.append(d)
            offs.append(offs[-1] + len(d))
            if advance:
                advance(1)
        xy = np.concatenate(xs) if xs else np.zeros((0, 2), np.float32)
        desc = np.concatenate(ds) if ds else np.zeros((0, DESC_BYTES), np.uint8)
        return cls(xy, desc, np.array(offs), config)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, xy=self.xy, desc=self.desc, offsets=self.offsets, common=self.common)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, config: FeatureConfig, source: str = "keypoints") -> KeypointDB:
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            return cls.from_arrays({k: z[k] for k in z.files}, config, source)
        except ReferenceDBError:
            raise
        except Exception as e:
            raise ReferenceDBError(f"{source}: not a readable keypoint file ({type(e).__name__}: {e})") from e

    @classmethod
    def from_arrays(
        cls, z: dict[str, np.ndarray], config: FeatureConfig, source: str = "keypoints"
    ) -> KeypointDB:
        """From the arrays of keypoints.npz (memory-mapped ones stay mapped)."""
        missing = [k for k in ("xy", "desc", "offsets") if k not in z]
        if missing:
            raise ReferenceDBError(f"{source}: not a keypoint file (no {', '.join(missing)})")
        return cls(z["xy"], z["desc"], z["offsets"], config, z.get("common"), dict(z))

    def card(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.offsets[row], self.offsets[row + 1]
        return self.xy[a:b], self.desc[a:b]

    # -- shortlist -----------------------------------------------------------------
    def vote_index(self) -> VoteIndex:
        """The index of reference descriptors the votes search (built now when none was stored)."""
        if self._votes is None:
            lsh = self.config.lsh
            every = np.ones(len(self.desc), bool)
            self._votes = VoteIndex.build(self.desc, every, lsh["table_number"], lsh["key_size"])
        return self._votes

    def prepare(self) -> None:
        """Have the vote index ready (otherwise built on the first query when not stored)."""
        self.vote_index()

    def votes(
        self, desc: np.ndarray, exclude: set[int] | None = None, every: np.ndarray | None = None
    ) -> np.ndarray:
        """Descriptor votes per card row: each query descriptor votes for the card of its nearest
        reference descriptor within the distance limit (``every``: these votes with nothing
        excluded, when already counted)."""
        if every is not None:
            votes = every.copy()
        else:
            votes = np.zeros(self.count, dtype=np.float32)
            if len(desc) == 0 or len(self.desc) == 0:
                return votes
            _, ref = self.vote_index().nearest(
                desc, self.desc, self.config.vote_max_distance, self.config.vote_bucket_cap
            )
            if len(ref):
                votes += np.bincount(self.owner[ref], minlength=self.count).astype(np.float32)
        if exclude:
            votes[list(exclude)] = -1.0
        return votes

    # -- verification --------------------------------------------------------------
    def verify(
        self,
        xy: np.ndarray,
        desc: np.ndarray,
        rows: list[int],
        query_hw: tuple[int, int] = CANONICAL_HW,
        exclude: set[int] | None = None,
        memo: dict[int, Any] | None = None,
    ) -> list[Verification]:
        """RANSAC homography inliers of the query against each reference row in ``rows``
        (``exclude``: cards counted as absent from the DB, template flags included; ``memo``: this
        query's matches per row, kept across calls: they depend on neither)."""
        import cv2

        out = []
        bf = cv2.BFMatcher(cv2.NORM_HAMMING)
        method = self.config.homography_method()
        rh = CANONICAL_HW[0]
        memo = {} if memo is None else memo
        for row in rows:
            if row not in memo:
                memo[row] = self._geometry(bf, method, xy, desc, int(row), query_hw)
            qm, ridx, ry, (H, keep) = memo[row]
            matches, qm, ridx, ry = len(qm), qm[keep], ridx[keep], ry[keep]
            lo, hi = self.config.art_window
            in_art = (ry >= lo * rh) & (ry <= hi * rh)
            out.append(
                Verification(
                    row=int(row),
                    inliers=len(qm),
                    matches=matches,
                    art_inliers=int(np.sum(in_art)),
                    distinct_inliers=int(np.sum(~self.common_of(row, exclude)[ridx])) if len(qm) else 0,
                    query_inliers=np.sort(qm),
                    query_text=np.sort(qm[~in_art]),
                    H=H,
                )
            )
        return out

    def _geometry(
        self, bf: Any, method: int, xy: np.ndarray, desc: np.ndarray, row: int, query_hw: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray | None, np.ndarray]]:
        """The ratio-test matches of the query against one row (query index, reference index,
        reference y) and the plausible homography with its inlier mask (None, none when there
        is no such homography)."""
        import cv2

        rxy, rdesc = self.card(row)
        good: list[tuple[int, int]] = []
        if len(rdesc) >= 2 and len(desc) >= 2:
            for m in bf.knnMatch(desc, rdesc, k=2):
                if len(m) == 2 and m[0].distance < self.config.ratio * m[1].distance:
                    good.append((m[0].queryIdx, m[0].trainIdx))
        g = np.array(good, np.int64).reshape(-1, 2)
        qm, ridx = g[:, 0], g[:, 1]
        matched = qm, ridx, rxy[ridx, 1]
        none = (None, np.zeros(len(g), bool))
        if len(g) < 6:
            return (*matched, none)
        H, mask = cv2.findHomography(
            rxy[ridx].reshape(-1, 1, 2),
            xy[qm].reshape(-1, 1, 2),
            method,
            self.config.ransac_px,
            maxIters=int(self.config.ransac_iters),
            confidence=0.99,
        )
        if H is None or mask is None or not _plausible(H, _REF_CORNERS, query_hw):
            return (*matched, none)
        return (*matched, (H, mask.reshape(-1).astype(bool)))


def _plausible(H: np.ndarray, ref_corners: np.ndarray, query_hw: tuple[int, int]) -> bool:
    """A homography from a real match maps the card to a convex, non-tiny quad."""
    import cv2

    try:
        q = cv2.perspectiveTransform(ref_corners, H).reshape(-1, 2)
    except cv2.error:
        return False
    if not np.all(np.isfinite(q)):
        return False
    if not cv2.isContourConvex(q.reshape(-1, 1, 2).astype(np.float32)):
        return False
    area = cv2.contourArea(q.astype(np.float32))
    return area > 0.04 * query_hw[0] * query_hw[1]


class LayoutDescriptor:
    """Training-free global descriptor: blurred, mean-removed Lab thumbnail (L2-normalized)."""

    name = "layout-lab-v1"
    thumb_hw = (22, 16)

    @property
    def dim(self) -> int:
        return self.thumb_hw[0] * self.thumb_hw[1] * 3

    def identity(self) -> dict[str, Any]:
        return {
            "architecture": self.name,
            "embedding_dim": self.dim,
            "input_size": list(CANONICAL_HW),
            "weights_sha256": None,
        }

    def embed(self, images: list[np.ndarray] | np.ndarray, batch_size: int = 0) -> np.ndarray:
        import cv2

        out = np.zeros((len(images), self.dim), dtype=np.float32)
        h, w = self.thumb_hw
        for i, im in enumerate(images):
            small = cv2.resize(np.asarray(im), (w * 4, h * 4), interpolation=cv2.INTER_AREA)
            small = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_AREA)
            lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
            lab -= lab.reshape(-1, 3).mean(axis=0)
            lab[..., 0] *= 0.5  # lightness varies most with lighting; weigh colour more
            v = lab.reshape(-1)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-6)
        return out
