"""`pokecard selftest`: the health check a deploy runs on the target.

Loads the bundle's reference DB and model through the chosen backend, recognizes the
bundled self-test photos, and checks that each names its expected card within the latency
bound recorded in the bundle. Any failure is a :class:`SelftestError` (exit 1), which makes
the deploy roll back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pokecard.edge import bundle as bd
from pokecard.edge.errors import SelftestError
from pokecard.errors import PokecardError
from pokecard.recognize import Recognizer


@dataclass
class SelftestReport:
    bundle: str
    backend: str
    mode: str
    load_ms: float
    photos: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "backend": self.backend,
            "mode": self.mode,
            "load_ms": round(self.load_ms, 1),
            "photos": self.photos,
            "problems": self.problems,
            "passed": self.passed,
        }


def run_selftest(
    bundle_dir: str | Path, *, backend: str | None = None, max_ms: float | None = None
) -> SelftestReport:
    """Run the health check on an unpacked bundle; raises nothing for wrong cards (see report)."""
    d = Path(bundle_dir)
    exp_path = d / bd.EXPECTED
    try:
        expected = json.loads(exp_path.read_text(encoding="utf-8"))
        config = json.loads((d / bd.CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SelftestError(f"{d}: not an unpacked pokecard bundle ({e})") from e
    backend = backend or config.get("backend", "auto")
    bound = float(max_ms if max_ms is not None else expected.get("max_ms", bd.DEFAULT_MAX_MS))
    t0 = time.perf_counter()
    try:
        rec = Recognizer(d / bd.ROOT_DIR, backend=backend)
    except PokecardError as e:
        raise SelftestError(f"selftest: cannot load the model and reference DB of {d} ({e})") from e
    except Exception as e:  # a corrupt model can fail deep inside a runtime
        raise SelftestError(f"selftest: loading {d} failed ({type(e).__name__}: {e})") from e
    report = SelftestReport(str(d), backend, rec.mode, (time.perf_counter() - t0) * 1000)
    for item in expected.get("photos", []):
        r = rec.recognize_file(d / bd.SELFTEST_DIR / item["file"])
        got = r.card_id
        ms = float(r.timings_ms["total"])
        report.photos.append(
            {
                "file": item["file"],
                "expected": item["card_id"],
                "got": got,
                "status": r.status,
                "ms": round(ms, 1),
            }
        )
        if not r.ok or got != item["card_id"]:
            report.problems.append(
                f"{item['file']}: expected {item['card_id']}, got {got or r.status} ({r.error or 'no error'})"
            )
        elif ms > bound:
            report.problems.append(f"{item['file']}: {ms:.0f} ms, over the {bound:.0f} ms bound")
    if not report.photos:
        report.problems.append(f"{exp_path}: no self-test photos")
    return report


def check(bundle_dir: str | Path, **kw: Any) -> SelftestReport:
    """Run the health check and raise :class:`SelftestError` naming every problem."""
    report = run_selftest(bundle_dir, **kw)
    if not report.passed:
        raise SelftestError(f"selftest failed for {bundle_dir}: {'; '.join(report.problems)}")
    return report
