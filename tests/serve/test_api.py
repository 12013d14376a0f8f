"""The JSON API under the ASGI test client: scan, fix, collection edits, export/import,
the access token, upload limits and bad files."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from starlette.testclient import TestClient

from pokecard.serve.app import create_app
from pokecard.serve.service import Limits

from .conftest import bad_files


@pytest.fixture
def client(service):  # noqa: ANN001, ANN201
    with TestClient(create_app(service=service)) as c:
        yield c


def scan(client: TestClient, files: dict[str, bytes]) -> list[dict]:
    r = client.post("/api/scan", files=[("files", (n, b, "image/jpeg")) for n, b in files.items()])
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_scan_names_the_cards_with_pictures_and_alternatives(client: TestClient, photos, service) -> None:  # noqa: ANN001
    res = scan(client, {f"{cid}.jpg": b for cid, b in photos.items()})
    assert [r["card"]["card_id"] for r in res] == list(photos)
    for r in res:
        assert r["status"] == "ok" and r["scan_id"] and r["score"] > 0
        assert r["card"]["name"] == service.cards[r["card"]["card_id"]].name
        assert r["card"]["card_id"] not in {a["card_id"] for a in r["alternatives"]}
        assert r["alternatives"]
        img = client.get("/" + r["card"]["image"])
        assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"
    col = client.get("/api/collection").json()
    assert sorted(i["card_id"] for i in col["items"]) == sorted(photos)
    assert col["totals"][0]["copies"] == len(photos)
    # the page itself and its script are served
    page = client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200


def test_bad_files_each_get_a_message_and_the_batch_goes_on(client: TestClient, photos) -> None:  # noqa: ANN001
    good_id, good = next(iter(photos.items()))
    bad = bad_files(good)
    res = scan(client, {**{n: b for n, (b, _) in bad.items()}, "good.jpg": good})
    by = {r["file"]: r for r in res}
    for name, (_, words) in bad.items():
        r = by[name]
        assert r["status"] == "error" and r["scan_id"] is None, r
        assert name in r["error"] and words in r["error"], r["error"]
    assert by["good.jpg"]["status"] == "ok" and by["good.jpg"]["card"]["card_id"] == good_id
    items = client.get("/api/collection").json()["items"]
    assert [(i["card_id"], i["quantity"]) for i in items] == [(good_id, 1)]  # nothing written for bad files


def test_upload_limits(service, photos) -> None:  # noqa: ANN001
    good = next(iter(photos.values()))
    service.limits = Limits(max_file_bytes=len(good) - 1, max_frame_bytes=1000)
    try:
        with TestClient(create_app(service=service)) as c:
            r = scan(c, {"big.jpg": good})[0]
            assert r["status"] == "error" and "over the upload limit" in r["error"]
            huge = c.post(
                "/api/scan",
                content=b"x" * (len(good) * 5 + 2_000_000),
                headers={"content-type": "image/jpeg"},
            )
            assert huge.status_code == 413
            assert c.get("/api/collection").json()["items"] == []
    finally:
        service.limits = Limits()


def test_client_names_never_reach_the_filesystem(client: TestClient, photos) -> None:  # noqa: ANN001
    good = next(iter(photos.values()))
    r = scan(client, {"../../etc/passwd": good, "..\\..\\x.jpg": good[:10]})
    assert r[0]["file"] == "passwd" and r[1]["file"] == "x.jpg"
    for bad in ("../index.json", "/etc/passwd", "images/syn-001.jpg"):
        assert client.get("/api/card-image", params={"id": bad}).status_code == 404
    assert client.get("/static/../service.py").status_code == 404


def test_fix_by_alternative_and_by_search(client: TestClient, photos, service) -> None:  # noqa: ANN001
    cid, b = next(iter(photos.items()))
    r = scan(client, {"a.jpg": b})[0]
    alt = r["alternatives"][0]["card_id"]
    f = client.post(f"/api/scans/{r['scan_id']}/fix", json={"card_id": alt})
    assert f.status_code == 200 and f.json()["card"]["card_id"] == alt
    target = service.catalog.cards[-1]
    found = client.get("/api/cards", params={"q": target.name[:4].lower()}).json()["cards"]
    assert target.card_id in [c["card_id"] for c in found]
    by_number = client.get("/api/cards", params={"q": target.number}).json()["cards"]
    assert [c["card_id"] for c in by_number] == [target.card_id]
    client.post(f"/api/scans/{r['scan_id']}/fix", json={"card_id": target.card_id})
    items = client.get("/api/collection").json()["items"]
    assert [(i["card_id"], i["quantity"]) for i in items] == [(target.card_id, 1)]
    cor = service.db.corrections()
    assert [(c["recognized"], c["corrected"]) for c in cor] == [(cid, alt), (cid, target.card_id)]
    assert cor[0]["sha256"] == r["sha256"]
    assert client.post(f"/api/scans/{r['scan_id']}/fix", json={"card_id": "nope"}).status_code == 404
    assert client.post("/api/scans/9999/fix", json={"card_id": alt}).status_code == 404


def test_two_editors_of_one_card_lose_no_update(client: TestClient, photos, service) -> None:  # noqa: ANN001
    scan(client, dict(list(photos.items())[:1]))
    item = client.get("/api/collection").json()["items"][0]
    a = client.patch(f"/api/items/{item['id']}", json={"version": item["version"], "quantity": 3})
    b = client.patch(f"/api/items/{item['id']}", json={"version": item["version"], "condition": "damaged"})
    assert a.status_code == 200 and b.status_code == 409 and "reload" in b.json()["detail"]
    now = client.get("/api/collection").json()["items"][0]
    assert (now["quantity"], now["condition"]) == (3, "near_mint")

    # many concurrent +1 from two "browsers" all count
    def bump() -> None:
        for _ in range(10):
            assert client.post(f"/api/items/{item['id']}/adjust", json={"delta": 1}).status_code == 200

    ts = [threading.Thread(target=bump) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert client.get("/api/collection").json()["items"][0]["quantity"] == 23


def test_delete_undo_export_import(client: TestClient, photos) -> None:  # noqa: ANN001
    scan(client, photos)
    items = client.get("/api/collection").json()["items"]
    first = items[0]
    assert client.delete(f"/api/items/{first['id']}").status_code == 200
    assert len(client.get("/api/collection").json()["items"]) == len(items) - 1
    assert client.post(f"/api/items/{first['id']}/undo").status_code == 200
    assert len(client.get("/api/collection").json()["items"]) == len(items)
    for fmt, col in (("generic", "card_id"), ("tcgplayer", "Printing"), ("collectr", "Variance")):
        r = client.get("/api/export", params={"format": fmt})
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == len(items) and col in rows[0]
    text = client.get("/api/export").text
    for _ in range(2):
        r = client.post("/api/import", files={"file": ("mine.csv", text.encode(), "text/csv")})
        assert r.status_code == 200 and r.json()["lines"] == len(items)
    assert client.get("/api/export").text == text
    bad = client.post("/api/import", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert bad.status_code == 400 and "x.csv" in bad.json()["detail"]
    assert client.get("/api/export", params={"format": "xls"}).status_code == 400


def test_token_is_required_on_every_request(service) -> None:  # noqa: ANN001
    app = create_app(service=service, token="s3cret-token")
    with TestClient(app) as c:
        for path in ("/", "/api/collection", "/static/app.js", "/api/card-image?id=syn-001", "/api/export"):
            r = c.get(path)
            assert r.status_code == 401 and "token" in r.json()["detail"], path
        assert c.get("/api/collection", params={"token": "wrong"}).status_code == 401
        assert c.post("/api/scan", files=[("files", ("a.jpg", b"x", "image/jpeg"))]).status_code == 401
        assert c.get("/api/collection", headers={"X-Pokecard-Token": "s3cret-token"}).status_code == 200
        first = c.get("/", params={"token": "s3cret-token"})  # the printed URL sets the cookie
        assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
        assert c.get("/api/collection").status_code == 200  # the page's own requests carry it


def test_live_frames_vote_then_record_once(client: TestClient, photos) -> None:  # noqa: ANN001
    cid, b = next(iter(photos.items()))
    other = list(photos.values())[1]
    stable = []
    for frame in (b, other, b, b, b, b, b):
        r = client.post("/api/live", params={"session": "test-session-1"}, content=frame)
        assert r.status_code == 200, r.text
        if r.json()["stable"]:
            stable.append(r.json()["stable"]["card"]["card_id"])
    assert stable == [cid]  # stable after 3 of 5, then not again while held still
    items = client.get("/api/collection").json()["items"]
    assert [(i["card_id"], i["quantity"]) for i in items] == [(cid, 1)]
    assert client.post("/api/live", params={"session": "../x"}, content=b).status_code == 400
