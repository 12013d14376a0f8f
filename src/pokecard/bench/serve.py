"""`pokecard bench serve`: what the web app adds to the recognizer's own time per photo.

The same held-out simulated photos (JPEG) go (1) through the recognizer in process, the way
the CLI reads files, and (2) one at a time through ``POST /api/scan`` of a real `pokecard serve`
on loopback (multipart upload, decode, recognize, record in SQLite, JSON back): the overhead
ratio. Then 8 clients send the photos at once (a bounded loop: each photo a fixed number of
times) for latency p50/p95 under load and the count of failed requests.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench import machine, update_doc_section, write_report
from pokecard.catalog import build_catalog, synth_catalog
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene
from pokecard.recognize import Recognizer
from pokecard.reference.build import build_reference

CLIENTS = 8


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def _build_root(folder: Path, cards: int) -> Any:
    cat = synth_catalog(cards, folder / "catalog", seed=0)
    build_catalog(cat, folder / "root")
    build_reference(folder / "root", None, progress=False)
    return cat


def _photos(cat: Any, n: int, out: Path) -> list[Path]:
    """``n`` held-out photos (evaluation seeds), cycling through the cards, as JPEG files."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    files = []
    for j in range(n):
        i = j % len(cat.cards)
        rgb, _ = simulate_scene(cat.load_image(cat.cards[i]), eval_seed(i, 500 + j), PhotoConfig.eval())
        p = out / f"{j:03d}-{cat.cards[i].card_id}.jpg"
        Image.fromarray(rgb).save(p, quality=90)
        files.append(p)
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    head = f'--{b}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
    return head.encode() + data + f"\r\n--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


class _Client:
    """One keep-alive connection, like a browser tab."""

    def __init__(self, port: int) -> None:
        self.con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def scan(self, name: str, data: bytes) -> dict[str, Any]:
        body, ctype = _multipart(name, data)
        self.con.request("POST", "/api/scan", body=body, headers={"Content-Type": ctype})
        r = self.con.getresponse()
        payload = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {payload[:200]!r}")
        return json.loads(payload)["results"][0]


def _start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    paths = [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    cmd = [sys.executable, "-m", "pokecard", "serve", "--root", str(root), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 180:
        if proc.poll() is not None:
            raise RuntimeError(f"pokecard serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/info")
            c.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("pokecard serve did not answer within 180 s")


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs), q)), 1) if xs else float("nan")


def main(quick: bool = False, root: str | None = None) -> dict[str, Any]:
    n = 30 if quick else 100
    repeats = 1 if quick else 2
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="pokecard-bench-serve-") as tmp:
        t = Path(tmp)
        cat = _build_root(t, 20 if quick else 40)
        files = _photos(cat, n, t / "photos")
        data = [(f.name, f.read_bytes()) for f in files]
        truth = [f.stem.split("-", 1)[1] for f in files]

        rec = Recognizer(t / "root")
        rec.recognize_file(files[0])  # warm-up, like the server's first request below
        t0 = time.perf_counter()
        local = [rec.recognize_file(f) for f in files]
        inproc_s = time.perf_counter() - t0
        del rec

        srv_root = t / "served"
        shutil.copytree(t / "root", srv_root)
        port = _free_port()
        proc = _start_server(srv_root, port)
        try:
            c = _Client(port)
            c.scan("warm.jpg", data[0][1] + b"warm-up")
            t0 = time.perf_counter()
            remote = [c.scan(nm, b) for nm, b in data]
            http_s = time.perf_counter() - t0

            # 8 clients, a bounded loop: each photo `repeats` more times (new bytes, new scans)
            work: queue.Queue[tuple[str, bytes]] = queue.Queue()
            for k in range(repeats):
                for nm, b in data:
                    work.put((f"{k}-{nm}", b + f"load {k}".encode()))
            lat: list[float] = []
            fails: list[str] = []
            lock = threading.Lock()

            def client() -> None:
                cl = _Client(port)
                while True:
                    try:
                        nm, b = work.get_nowait()
                    except queue.Empty:
                        return
                    s0 = time.perf_counter()
                    try:
                        r = cl.scan(nm, b)
                        ok = r["status"] != "error"
                    except Exception as e:  # a failed request is counted, the others go on
                        ok, r = False, {"error": str(e)}
                        cl = _Client(port)
                    with lock:
                        lat.append((time.perf_counter() - s0) * 1000)
                        if not ok:
                            fails.append(f"{nm}: {r.get('error')}")

            t0 = time.perf_counter()
            ts = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for th in ts:
                th.start()
            for th in ts:
                th.join()
            load_s = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
    same = sum(a.card_id == (b["card"] or {}).get("card_id") for a, b in zip(local, remote, strict=True))
    right = sum((b["card"] or {}).get("card_id") == tr for b, tr in zip(remote, truth, strict=True))
    res = {
        "photos": n,
        "cards": len(cat.cards),
        "mode": "training-free (no model)",
        "inprocess_ms_per_photo": round(inproc_s / n * 1000, 1),
        "http_ms_per_photo": round(http_s / n * 1000, 1),
        "inprocess_photos_per_s": round(n / inproc_s, 2),
        "http_photos_per_s": round(n / http_s, 2),
        "overhead_ratio": round(http_s / inproc_s, 3),
        "same_answer_http_vs_inprocess": same,
        "http_top1_right": right,
        "load_clients": CLIENTS,
        "load_requests": len(lat),
        "load_failed": len(fails),
        "load_failures": fails[:5],
        "load_p50_ms": _pct(lat, 50),
        "load_p95_ms": _pct(lat, 95),
        "load_photos_per_s": round(len(lat) / load_s, 2),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_after": round(_load(), 2),
        "target": {"overhead_under": 1.10, "met": bool(http_s / inproc_s < 1.10 and not fails)},
        "command": "pokecard bench serve" + (" --quick" if quick else ""),
    }
    write_report("serve", res)
    update_doc_section("serve", markdown(res))
    return res


def markdown(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "### Web app (`pokecard serve`): HTTP against the recognizer in process",
            "",
            f"`{r['command']}` on {machine()}; {r['photos']} held-out simulated photos (JPEG, 960x720) of "
            f"{r['cards']} synthetic cards, {r['mode']}; the server is a real `pokecard serve` (uvicorn, one "
            "worker) on 127.0.0.1, each request a multipart upload that is decoded, recognized, recorded in "
            f"SQLite (synchronous=FULL) and answered as JSON. Load average {r['load_average_1m_before']} before, "
            f"{r['load_average_1m_after']} after (the CPUs are shared).",
            "",
            "| path | ms/photo | photos/s |",
            "| --- | ---: | ---: |",
            f"| recognizer in process (recognize_file, as the CLI) | {r['inprocess_ms_per_photo']} | {r['inprocess_photos_per_s']} |",
            f"| POST /api/scan, one client | {r['http_ms_per_photo']} | {r['http_photos_per_s']} |",
            "",
            f"Overhead ratio HTTP / in process: **{r['overhead_ratio']}** (target < 1.10: "
            f"{'met' if r['target']['met'] else 'not met'}); same card from both paths on "
            f"{r['same_answer_http_vs_inprocess']}/{r['photos']} photos, right card over HTTP {r['http_top1_right']}/{r['photos']}.",
            "",
            f"{r['load_clients']} concurrent clients on loopback, {r['load_requests']} requests: p50 "
            f"{r['load_p50_ms']} ms, p95 {r['load_p95_ms']} ms, {r['load_photos_per_s']} photos/s, "
            f"**{r['load_failed']} failed**. Recognition is serialised in the one worker (one recognizer), so "
            "latency under load is queueing: about clients x the time per photo.",
        ]
    )
