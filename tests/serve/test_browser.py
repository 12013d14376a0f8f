"""End to end in headless Chromium (Debian's, driven by Playwright with executable_path):
drop simulated photos, see the right names, fix one, export the CSV; bad files in the form;
the live mode fed by a fake camera made of simulated photos. Screenshots for docs/app.md."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import require_or_skip

from .conftest import bad_files, photo_rgb

STRICT = "POKECARD_REQUIRE_BROWSER"
DOCS_IMG = Path(__file__).parents[2] / "docs" / "img"


def _chromium() -> str | None:
    return os.environ.get("POKECARD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def playwright_api():  # noqa: ANN201
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require_or_skip(
        sync_playwright is not None, "playwright is not installed (pip install -e '.[serve]')", STRICT
    )
    require_or_skip(_chromium() is not None, "no chromium on the PATH (apt-get install chromium)", STRICT)
    with sync_playwright() as p:  # type: ignore[misc]
        yield p


def launch(p, *args: str):  # noqa: ANN001, ANN201
    return p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", *args])


def shot(page, name: str) -> None:  # noqa: ANN001
    """A screenshot (always checked); copied into docs/img when POKECARD_SCREENSHOTS=1."""
    out = Path(os.environ.get("PYTEST_TMPDIR", "/tmp")) / name
    page.screenshot(path=str(out), full_page=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("POKECARD_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, DOCS_IMG / name)


def collection(server) -> list[dict]:  # noqa: ANN001
    with urllib.request.urlopen(server.url + "api/collection") as r:  # noqa: S310 - loopback
        return json.load(r)["items"]


def test_drop_photos_fix_one_and_export(
    playwright_api, server, serve_catalog, photos, tmp_path: Path
) -> None:  # noqa: ANN001
    files = []
    for i, (cid, b) in enumerate(photos.items()):
        f = tmp_path / f"photo-{i}-{cid}.jpg"
        f.write_bytes(b)
        files.append(f)
    names = {c.card_id: c.name for c in serve_catalog.cards}
    b = launch(playwright_api)
    try:
        page = b.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server.url)
        # drag and drop: a real drop event on the zone carrying the first photo
        dt = page.evaluate_handle(
            """([name, data]) => { const d = new DataTransfer();
                 const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
                 d.items.add(new File([bytes], name, {type: 'image/jpeg'})); return d; }""",
            [files[0].name, __import__("base64").b64encode(files[0].read_bytes()).decode()],
        )
        page.dispatch_event("#drop", "drop", {"dataTransfer": dt})
        page.wait_for_selector("li.result[data-status]")
        page.set_input_files("#files", [str(f) for f in files[1:]])
        page.wait_for_function(f"document.querySelectorAll('li.result[data-status]').length === {len(files)}")
        shown = {
            li.query_selector(".file").inner_text(): li.query_selector(".name").inner_text()
            for li in page.query_selector_all("li.result")
        }
        for f, cid in zip(files, photos, strict=True):
            assert shown[f.name] == names[cid], (f.name, shown)
        assert page.locator("li.result img.card").count() == len(files)
        shot(page, "app-scan.png")

        # fix the first photo: click its first alternative
        li = page.locator("li.result", has=page.locator(".file", has_text=files[0].name))
        alt = li.locator(".alt").first
        new_id = alt.get_attribute("data-card-id")
        alt.click()
        page.wait_for_selector("li.result[data-fixed='1']")
        assert li.locator(".name").inner_text() == names[new_id]
        # and the second by the catalogue search
        li2 = page.locator("li.result", has=page.locator(".file", has_text=files[1].name))
        target = serve_catalog.cards[-1]
        li2.locator("input.search").fill(target.number)
        li2.locator(f".search-results .alt[data-card-id='{target.card_id}']").click()
        page.wait_for_function(
            "n => [...document.querySelectorAll('li.result[data-fixed=\"1\"]')].length === n", arg=2
        )
        expected = {new_id: 0, target.card_id: 0}
        for cid in list(photos)[2:]:
            expected[cid] = 0
        for cid in [new_id, target.card_id, *list(photos)[2:]]:
            expected[cid] += 1

        page.click("#tab-collection")
        page.wait_for_selector("#collection tbody tr")
        shot(page, "app-collection.png")
        with page.expect_download() as dl:
            page.click("#export-tcgplayer")
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
        numbers = {c.card_id: c.number for c in serve_catalog.cards}
        got = {(r["Name"], r["Card Number"]): int(r["Quantity"]) for r in rows}
        assert got == {(names[c], numbers[c]): q for c, q in expected.items()}
        assert {r["Printing"] for r in rows} == {"Normal"} and {r["Product ID"] for r in rows} == {""}

        # edit a quantity and a finish in place, delete a line and undo it
        row = page.locator(f"#collection tr[data-card-id='{target.card_id}']")
        row.locator("input.qty").fill("3")
        row.locator("input.qty").blur()  # the change event a person's leaving the field fires
        from playwright.sync_api import expect

        expect(page.locator("#collection-msg")).to_have_text("saved")  # on a timeout: the text it had
        page.wait_for_function(
            f"document.querySelector(\"#collection tr[data-card-id='{target.card_id}'] input.qty\").value === '3'"
        )
        row.locator("select").first.select_option("holo")
        page.wait_for_function(
            f"document.querySelector(\"#collection tr[data-card-id='{target.card_id}'] select\").value === 'holo'"
        )
        expected[target.card_id] = 3
        gone = list(photos)[2]
        page.locator(f"#collection tr[data-card-id='{gone}'] button.delete").click()
        page.wait_for_selector(f"#collection tr[data-card-id='{gone}']", state="detached")
        page.click("#undo")
        page.wait_for_selector(f"#collection tr[data-card-id='{gone}']")
    finally:
        b.close()
    final = collection(server)
    assert {i["card_id"]: i["quantity"] for i in final} == expected
    assert next(i["finish"] for i in final if i["card_id"] == target.card_id) == "holo"


def test_bad_files_in_the_form_and_escaping(playwright_api, server, photos, tmp_path: Path) -> None:  # noqa: ANN001
    good = next(iter(photos.values()))
    bad = bad_files(good)
    paths = []
    for name, (data, _) in bad.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    html_name = tmp_path / "<b>bold<b>.jpg"
    html_name.write_bytes(good)
    paths.append(html_name)
    b = launch(playwright_api)
    try:
        page = b.new_page()
        page.goto(server.url)
        page.set_input_files("#files", [str(p) for p in paths])
        page.wait_for_function(f"document.querySelectorAll('li.result[data-status]').length === {len(paths)}")
        for name, (_, words) in bad.items():
            li = page.locator("li.result", has=page.locator(".file", has_text=name))
            assert li.get_attribute("data-status") == "error"
            msg = li.locator(".error-msg").inner_text()
            assert name in msg and words in msg, msg
        ok = page.locator("li.result[data-status='ok']")
        assert ok.count() == 1 and ok.locator(".file").inner_text() == "<b>bold<b>.jpg"
        assert page.locator("li.result b").count() == 0  # shown as text, not markup
    finally:
        b.close()
    assert len(collection(server)) == 1


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """A raw YUV 4:2:0 video (what Chromium's fake camera reads)."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for fr in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(fr), cv2.COLOR_RGB2YUV_I420).tobytes())


def test_live_mode_with_a_fake_camera(playwright_api, server, serve_catalog, tmp_path: Path) -> None:  # noqa: ANN001
    import cv2

    a, c = 0, 2
    fa = cv2.resize(photo_rgb(serve_catalog, a, 1), (800, 600), interpolation=cv2.INTER_AREA)
    fc = cv2.resize(photo_rgb(serve_catalog, c, 1), (800, 600), interpolation=cv2.INTER_AREA)
    video = tmp_path / "camera.y4m"
    write_y4m(video, [fa] * 25 + [fc] * 25, fps=5)  # 5 s of each card, looped
    b = launch(
        playwright_api,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    want = [serve_catalog.cards[a].name, serve_catalog.cards[c].name]
    try:
        page = b.new_page()
        page.goto(server.url)
        page.click("#live-start")
        page.wait_for_function(
            "w => { const n = [...document.querySelectorAll('li[data-source=live] .name')].map(e => e.textContent);"
            " return w.every(x => n.includes(x)); }",
            arg=want,
            timeout=60_000,
        )
        page.click("#live-stop")
    finally:
        b.close()
    ids = {i["card_id"] for i in collection(server)}
    assert {serve_catalog.cards[a].card_id, serve_catalog.cards[c].card_id} <= ids
