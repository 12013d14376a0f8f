"""The result contract: to_json is the CLI's --json line, from_json its inverse, and a result
that breaks the contract (a card without ok, an unknown status) is refused."""

from __future__ import annotations

import json

import pytest

from pokecard.result import STAGES, Candidate, CardRef, Result


def test_to_json_keeps_the_field_order_and_round_trips() -> None:
    r = Result(
        "a.jpg", "ok", CardRef("tef-001", "Scyther", "TEF", "001"), 41.0, 30.0,
        (Candidate("tef-001", 41.0), Candidate("tef-002", 11.0)), {"decode": 1.5, "total": 9.0},
    )  # fmt: skip
    d = r.to_json()
    assert list(d) == ["file", "status", "card", "score", "margin", "top_k", "timings_ms", "error"]
    assert d["card"] == {"card_id": "tef-001", "name": "Scyther", "set_code": "TEF", "number": "001"}
    assert d["top_k"][1] == {"card_id": "tef-002", "score": 11.0}
    assert Result.from_json(json.loads(json.dumps(d))) == r
    assert r.ok and r.card_id == "tef-001" and r.top_id == "tef-001"


def test_an_unknown_keeps_its_ranking_but_names_no_card() -> None:
    r = Result("b.jpg", "unknown", None, 7.0, 1.0, (Candidate("tef-009", 7.0),))
    assert not r.ok and r.card_id is None and r.top_id == "tef-009"
    assert r.to_json()["card"] is None


def test_failed_names_the_input_and_zeroes_every_stage() -> None:
    r = Result.failed("x.jpg", "x.jpg: not an image", 2.25)
    assert r.status == "error" and r.error == "x.jpg: not an image" and r.top_k == ()
    assert set(r.timings_ms) == set(STAGES) and r.timings_ms["decode"] == r.timings_ms["total"] == 2.25


@pytest.mark.parametrize(
    ("status", "card", "words"),
    [("fine", None, "not one of"), ("unknown", CardRef("a"), "only with"), ("ok", None, "only with")],
)
def test_a_result_that_breaks_the_contract_is_refused(status: str, card: CardRef | None, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Result("c.jpg", status, card)  # type: ignore[arg-type]
