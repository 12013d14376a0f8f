"""Failure families of the edge jobs (each a PokecardError: one line, non-zero exit)."""

from __future__ import annotations

from pokecard.errors import PokecardError


class BundleError(PokecardError):
    """A bundle cannot be made, or an archive fails its manifest check."""


class DeployError(PokecardError):
    """A deploy step failed on the target (unreachable, refused, disk full, checksum...)."""


class SelftestError(PokecardError):
    """The health check found a wrong card, an error, or a latency over its bound."""


class SourceError(PokecardError):
    """A camera, video or folder source cannot be opened or stopped delivering frames."""
