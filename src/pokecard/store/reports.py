"""What the store returns: ``ObjectInfo`` (one listed object), ``SyncPlan`` (what a sync
would do or did) and ``VerifyReport`` (what a re-hash found)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


@dataclass
class SyncPlan:
    """What a sync would do (or did): keys to copy and keys to delete."""

    source: str
    destination: str
    copy: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    ok: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.mismatched or self.missing)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}
