"""The real server (uvicorn in a child process on loopback): the printed token URL, and no
acknowledged scan lost when the server is SIGKILLed in the middle of a batch."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from pokecard.collection import CollectionDB

from .conftest import Server, free_port


def upload(url: str, name: str, data: bytes, token: str | None = None, timeout: float = 60) -> dict:
    """A multipart POST /api/scan with one photo, by hand (no client library needed)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(url + "api/scan", data=body, method="POST")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    if token:
        req.add_header("X-Pokecard-Token", token)
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback
        return json.load(r)["results"][0]


def test_token_url_is_printed_and_required(root: Path) -> None:
    s = Server(root, free_port(), "127.0.0.1", "--require-token")
    try:
        log = s.log.read_text()
        line = next(ln for ln in log.splitlines() if "?token=" in ln)
        token = line.rsplit("?token=", 1)[1].strip()
        assert len(token) >= 32
        assert "\u2580" in log or "\u2584" in log or "\u2588" in log  # the terminal QR code
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(s.url + "api/collection")  # noqa: S310 - loopback
        assert e.value.code == 401
        with urllib.request.urlopen(s.url + f"api/collection?token={token}") as r:  # noqa: S310
            assert r.status == 200
    finally:
        s.stop()


def test_sigkill_during_a_batch_loses_no_acknowledged_scan(root: Path, photos) -> None:  # noqa: ANN001
    port = free_port()
    s = Server(root, port)
    acked: list[tuple[int, str]] = []
    stop = threading.Event()
    pics = list(photos.items())

    def client(k: int) -> None:
        i = 0
        while not stop.is_set():
            _, b = pics[(i + k) % len(pics)]
            data = b + f"client {k} photo {i}".encode()  # after the JPEG end: a new sha256, same picture
            i += 1
            try:
                r = upload(s.url, f"{k}-{i}.jpg", data, timeout=30)
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server died under this request: it was never acknowledged
            acked.append((r["scan_id"], (r["card"] or {}).get("card_id") or ""))

    ts = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    t0 = time.monotonic()
    while len(acked) < 6 and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    stop.set()
    for t in ts:
        t.join(60)
    assert len(acked) >= 6
    snapshot = list(acked)
    s2 = Server(root, free_port())  # restart on the same root
    try:
        with CollectionDB.open(root) as db:
            scans = {x["id"]: x for x in db.scans()}
            for scan_id, cid in snapshot:
                assert scan_id in scans, f"acknowledged scan {scan_id} lost"
                if cid:
                    assert scans[scan_id]["card_id"] == cid
            copies = sum(i.quantity for i in db.items())
        assert copies >= sum(1 for _, c in snapshot if c)
        with urllib.request.urlopen(s2.url + "api/collection") as r:  # noqa: S310 - loopback
            assert sum(i["quantity"] for i in json.load(r)["items"]) == copies
    finally:
        s2.stop()


def test_beyond_loopback_a_token_is_generated(base_root: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """--host 0.0.0.0 (not bound here: uvicorn.run is replaced) gets a fresh token, printed as URL."""
    import shutil

    import uvicorn

    from pokecard.serve import server

    got: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: got.update(app=app, **kw))
    root = Path(shutil.copytree(base_root, tmp_path / "r"))
    server.serve(root, "0.0.0.0", 8123)
    err = capsys.readouterr().err
    token = got["app"].token
    assert token and len(token) >= 32 and f"?token={token}" in err and ":8123/" in err
    assert got["host"] == "0.0.0.0" and got["workers"] == 1
    server.serve(root, "127.0.0.1", 8124)
    assert got["app"].token is None and "?token=" not in capsys.readouterr().err
    assert server.is_loopback("::1") and server.is_loopback("localhost") and not server.is_loopback("0.0.0.0")
