"""One exception family per failure, each with a message a user can act on.

The CLI catches :class:`PokecardError` and prints its message on one line (no traceback),
exiting non-zero. Library code raises these instead of printing.
"""

from __future__ import annotations


class PokecardError(Exception):
    """Base class: ``str(err)`` is a complete sentence naming what failed and what to do."""

    exit_code = 1


class ConfigError(PokecardError):
    """A setting or config file is invalid."""


class LayoutError(PokecardError):
    """A key is outside the storage layout (or malformed)."""


class StoreError(PokecardError):
    """The artifact store cannot be reached or refused an operation."""


class ObjectNotFound(StoreError):
    """A key does not exist in the store."""


class ChecksumMismatch(StoreError):
    """Bytes read back do not match the sha256 recorded when they were written."""


class CatalogError(PokecardError):
    """A catalogue folder or card is invalid."""


class ImageError(PokecardError):
    """An image file cannot be decoded or is unusable."""


class ModelError(PokecardError):
    """A model file, model card or backend is missing or inconsistent."""


class ReferenceDBError(PokecardError):
    """A reference database is missing, corrupt, or was built by another model."""


class InfraError(PokecardError):
    """Terraform or the local AWS emulator failed."""


class MissingDependency(PokecardError):
    """An optional dependency (torch, Hailo DFC, HailoRT, ...) is not installed."""


class CollectionError(PokecardError):
    """The collection database or a collection CSV is unusable, or a value in it is invalid."""


class ConflictError(CollectionError):
    """A collection row was changed by someone else since it was read (reload and retry)."""
