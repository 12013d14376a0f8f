"""`pokecard verify [PREFIX]`: the store against ``metadata/project_manifest.json``.

Fast (default): one listing. Missing keys, extra (unrecorded) keys, a size that differs from
the manifest, and an object modified after the manifest recorded it, all without a download.
``--deep`` re-hashes every recorded object (parallel downloads) and compares sha256, which
also catches a same-size rewrite the listing cannot see. Also checks the reference DB files
against their own manifest and every model in the lineage against the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from pokecard import layout
from pokecard.progress import progress
from pokecard.store import Store

# An object written by the store is listed at most this many seconds before its manifest time
# (the manifest time is truncated to the second and written after the object).
CLOCK_SLACK_S = 2.0


@dataclass
class Problem:
    key: str
    kind: str  # missing | extra | corrupted | reference | lineage
    detail: str


@dataclass
class VerifyResult:
    root: str
    prefix: str
    deep: bool
    checked: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def keys(self, kind: str) -> list[str]:
        return [p.key for p in self.problems if p.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        for kind in ("missing", "extra", "corrupted"):
            d[kind] = self.keys(kind)
        return d


def _ts(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def _sha_of(store: Store, key: str, tmpdir: str) -> str:
    with tempfile.NamedTemporaryFile(dir=tmpdir, delete=True) as tmp:
        store.read_raw(key, tmp.name)
        h = hashlib.sha256()
        with open(tmp.name, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()


def verify(store: Store, prefix: str = "", *, deep: bool = False, workers: int = 8) -> VerifyResult:
    pfx = layout.validate_key(prefix) if prefix.strip("/") else ""
    res = VerifyResult(store.url, pfx, deep)
    recorded = {k: v for k, v in store.manifest()["objects"].items() if k.startswith(pfx)}
    listed = {o["key"]: o for o in store.list_detailed(pfx) if o["key"] != layout.PROJECT_MANIFEST}
    expected = Counter(layout.component(k) for k in recorded)
    present = Counter(layout.component(k) for k in listed)
    res.counts = {
        c: {"expected": expected[c], "present": present[c]} for c in sorted(set(expected) | set(present))
    }
    for k in sorted(recorded.keys() - listed.keys()):
        res.problems.append(Problem(k, "missing", "in the manifest, not in the store"))
    for k in sorted(listed.keys() - recorded.keys()):
        res.problems.append(
            Problem(k, "extra", "in the store, not in the manifest (written outside pokecard?)")
        )
    both = sorted(recorded.keys() & listed.keys())
    suspect: set[str] = set()
    for k in both:
        rec, obj = recorded[k], listed[k]
        if int(rec["size"]) != obj["size"]:
            res.problems.append(Problem(k, "corrupted", f"size {obj['size']} != recorded {rec['size']}"))
            suspect.add(k)
            continue
        written, modified = _ts(rec.get("updated")), obj.get("last_modified")
        if written is not None and modified is not None and modified > written + CLOCK_SLACK_S:
            res.problems.append(Problem(k, "corrupted", "modified after the manifest recorded it"))
            suspect.add(k)
    res.checked = len(both)
    if deep:
        todo = [k for k in both if k not in suspect]
        with (
            tempfile.TemporaryDirectory() as d,
            ThreadPoolExecutor(workers) as pool,
            progress(len(todo), "verify --deep") as advance,
        ):
            for k, sha in zip(todo, pool.map(lambda key: _sha_of(store, key, d), todo), strict=True):
                if sha != recorded[k]["sha256"]:
                    res.problems.append(
                        Problem(
                            k,
                            "corrupted",
                            f"sha256 {sha[:12]}... != recorded {recorded[k]['sha256'][:12]}...",
                        )
                    )
                advance(1)
    if layout.REFERENCE.startswith(pfx) or pfx.startswith(layout.REFERENCE) or not pfx:
        res.problems.extend(_reference(store, recorded, listed))
    res.problems.extend(_lineage(store, listed, pfx))
    return res


def _reference(store: Store, recorded: dict[str, Any], listed: dict[str, Any]) -> list[Problem]:
    """The reference DB's files are present and are the ones its manifest.json was written with."""
    if layout.REFERENCE_MANIFEST not in listed:
        return []
    out = []
    try:
        files = store.get_json(layout.REFERENCE_MANIFEST, verify=False).get("files", {})
    except Exception as e:  # noqa: BLE001 - any unreadable manifest is the problem reported
        return [Problem(layout.REFERENCE_MANIFEST, "reference", f"unreadable: {e}")]
    for key, sha in files.items():
        if key not in listed:
            out.append(Problem(key, "reference", "listed in data/reference/manifest.json but absent"))
        elif sha and key in recorded and recorded[key]["sha256"] != sha:
            out.append(Problem(key, "reference", "not the file the reference manifest was built with"))
    return out


def _lineage(store: Store, listed: dict[str, Any], pfx: str) -> list[Problem]:
    """Every model version in the lineage (and so in the registry) under ``pfx`` is in the store."""
    if not store.exists(layout.MODEL_LINEAGE):
        return []
    try:
        lineage = store.get_json(layout.MODEL_LINEAGE, verify=False)
    except Exception as e:  # noqa: BLE001
        return [Problem(layout.MODEL_LINEAGE, "lineage", f"unreadable: {e}")]
    return [
        Problem(
            node["key"], "lineage", f"{node.get('kind', 'model')} in model_lineage.json is not in the store"
        )
        for node in lineage.get("nodes", [])
        if node.get("key", "").startswith(pfx) and node["key"] not in listed
    ]


def write_lines(res: VerifyResult) -> list[str]:
    """The human table: counts per component, then one line per problem."""
    lines = [f"{'component':<40} {'expected':>9} {'present':>9}"]
    lines += [f"{c:<40} {n['expected']:>9,} {n['present']:>9,}" for c, n in res.counts.items()]
    lines += [f"{p.kind:<10} {p.key}  ({p.detail})" for p in res.problems]
    mode = "deep (sha256 of every object)" if res.deep else "fast (listing: sizes, times)"
    verdict = "OK" if res.passed else f"FAILED: {len(res.problems)} problem(s)"
    lines.append(f"verify {res.root}{res.prefix} {mode}: {res.checked:,} checked, {verdict}")
    return lines
