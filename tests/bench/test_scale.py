"""`bench scale` end to end at two tiny generated catalogues (training-free, no real set, no
calibration: that stage alone is 30 s here): the report, the plot and the markdown table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pokecard.bench
from pokecard.bench import scale


def test_bench_scale_reports_every_size_and_reuses_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pokecard.bench, "REPORTS", tmp_path / "reports")
    doc, png, work = tmp_path / "benchmarks.md", tmp_path / "img" / "scale.png", tmp_path / "work"
    doc.write_text("# Benchmarks\n\nkept\n")
    kw = {"sizes": (12, 24), "photos": 4, "work": work, "modes": ("training-free",), "real": None,
          "calibrate_with": None, "calibrate": False, "doc": doc, "plot_path": png}  # fmt: skip
    res = scale.main(**kw)

    report = json.loads((tmp_path / "reports" / "bench_scale.json").read_text())
    assert report["benchmark"] == "scale" and [r["cards"] for r in report["rows"]] == [12, 24]
    for r in report["rows"]:
        assert "error" not in r, r.get("error")
        b, rc, ld = r["build"], r["recognition"], r["load"]
        assert b["stages_s"] and all(v >= 0 for v in b["stages_s"].values())
        assert b["total_s"] > 0 and b["peak_rss_mb"] > 50 and b["db_mb"] > 0
        assert {"describe", "template flags", "vote index"} <= set(b["stages_s"])
        assert ld["load_s"] > 0 and ld["rss_mb"] > 20
        assert rc["photos"] == 4 and 0 <= rc["top1"] <= 1 and 0 <= rc["unknown_accepted"] <= 1
        assert 0 <= rc["unknown_absent"] <= 1
        assert rc["accepted_right"] + rc["accepted_wrong"] <= 1
        assert 0 < rc["ms"]["p50"] <= rc["ms"]["p95"]
        assert r["targets"]["build_s"] is None  # the build targets are at 17,592 cards only
        assert isinstance(r["targets"]["top1"], bool)
    dups = {c["cards"]: c["near_duplicates"] for c in report["catalogues"]}
    assert set(dups) == {12, 24} and all("shared_art" in d for d in dups.values())

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as im:
        im.verify()
    text = doc.read_text()
    assert "kept" in text and text.count("<!-- bench:scale:start -->") == 1
    block = text.split("<!-- bench:scale:start -->")[1].split("<!-- bench:scale:end -->")[0]
    main_table = block.split("Targets")[0]
    assert sum(line.startswith(("| 12 |", "| 24 |")) for line in main_table.splitlines()) == 2
    assert "(img/scale.png)" in block

    # a rerun reuses the generated catalogues and the built roots
    again = scale.run((12,), photos=2, work=work, modes=("training-free",), real=None, calibrate=False)
    assert again["rows"][0]["build"]["reused"] and not res["rows"][0]["build"]["reused"]

    # ...unless its DB lacks a part this code's build writes (an older build's): built again
    kp = next((work / "roots").glob("*12*/training-free")) / "data/reference/keypoints.npz"
    with np.load(kp) as z:
        arrays = {k: z[k] for k in z.files if k != "name_strip"}
    np.savez(kp, **arrays)
    older = scale.run((12,), photos=2, work=work, modes=("training-free",), real=None, calibrate=False)
    assert not older["rows"][0]["build"]["reused"]

    # ...or was built with other feature settings (a DB keeps the ones it was calibrated with)
    man_file = next((work / "roots").glob("*12*/training-free")) / "data/reference/manifest.json"
    man = json.loads(man_file.read_text())
    man["features"]["homography"] = "usac"
    man_file.write_text(json.dumps(man))
    other = scale.run((12,), photos=2, work=work, modes=("training-free",), real=None, calibrate=False)
    assert not other["rows"][0]["build"]["reused"]
    assert json.loads(man_file.read_text())["features"]["homography"] == "ransac"
