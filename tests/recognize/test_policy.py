"""The recognizer's search policy, resolved against a DB's manifest with no DB loaded."""

from __future__ import annotations

import dataclasses

import pytest

from pokecard.errors import ReferenceDBError
from pokecard.recognize import Policy
from pokecard.reference.manifest import ReferenceManifest


def _manifest(mode: str, calibrated: bool) -> ReferenceManifest:
    cal = {"method": "leave-one-out simulated photos"} if calibrated else {"method": "default"}
    return ReferenceManifest({"mode": mode, "count": 3, "calibration": cal})


def test_a_calibrated_model_db_gets_embedding_first_and_both_shortlists() -> None:
    p = Policy.resolve(_manifest("embedding", calibrated=True))
    assert (p.verify, p.shortlist, p.fast_first, p.embed_first, p.exhaustive) == (
        True,
        "both",
        True,
        True,
        False,
    )
    assert "embedding first" in p.describe("embedding")


def test_embedding_first_needs_calibrated_thresholds_a_model_and_verification() -> None:
    assert not Policy.resolve(_manifest("embedding", calibrated=False)).embed_first
    assert Policy.resolve(_manifest("embedding", calibrated=False), embed_first=True).embed_first
    assert not Policy.resolve(_manifest("training-free", calibrated=True), embed_first=True).embed_first
    assert not Policy.resolve(_manifest("embedding", calibrated=True), verify=False).embed_first


def test_embedding_first_is_on_where_calibration_saw_it_answer_often_enough() -> None:
    """Calibration records how often the embedding alone answered rightly at the embedding-first
    bar; under EMBED_FIRST_MIN_DECIDES the first look goes straight to verification."""
    from pokecard.recognize.policy import EMBED_FIRST_MIN_DECIDES

    def man(decides: float | None) -> ReferenceManifest:
        cal: dict = {"method": "leave-one-out simulated photos"}
        if decides is not None:
            cal["embed_first"] = {"bar": 0.98, "decides": decides}
        return ReferenceManifest({"mode": "embedding", "count": 3, "calibration": cal})

    assert Policy.resolve(man(EMBED_FIRST_MIN_DECIDES)).embed_first
    assert not Policy.resolve(man(EMBED_FIRST_MIN_DECIDES - 0.01)).embed_first
    assert Policy.resolve(man(None)).embed_first  # calibrated before the share was measured
    assert Policy.resolve(man(0.0), embed_first=True).embed_first  # an explicit choice wins


def test_a_training_free_db_shortlists_by_votes_and_skips_the_fast_look_when_unverified() -> None:
    p = Policy.resolve(_manifest("training-free", calibrated=True))
    assert p.shortlist == "votes" and p.fast_first and not p.embed_first
    q = Policy.resolve(_manifest("training-free", calibrated=True), verify=False)
    assert not q.fast_first and q.describe("training-free") == "training-free only"
    # a model DB keeps the fast look without verification: its cosines clear the fast bar
    assert Policy.resolve(_manifest("embedding", calibrated=True), verify=False).fast_first
    assert not Policy.resolve(_manifest("embedding", calibrated=True), fast_first=False).fast_first


def test_explicit_choices_are_kept_and_bad_ones_refused() -> None:
    p = Policy.resolve(
        _manifest("embedding", calibrated=True), shortlist="votes", orientations="both", top_k=0
    )
    assert p.shortlist == "votes" and p.orientations == "both" and p.top_k == 1
    with pytest.raises(ReferenceDBError, match="unknown shortlist"):
        Policy.resolve(_manifest("embedding", calibrated=True), shortlist="psychic")
    with pytest.raises(ReferenceDBError, match="unknown orientations"):
        Policy.resolve(_manifest("embedding", calibrated=True), orientations="sideways")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.verify = False  # type: ignore[misc]
