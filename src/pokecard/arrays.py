"""Arrays on disk: the members of an uncompressed ``.npz`` as read-only memory maps.

``np.load`` maps a ``.npy`` but reads an ``.npz`` whole; a reference DB of 17,592 cards has
5 million keypoints, so the Pi maps them instead (docs/scale.md, "Loading").
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zip local file header (30 bytes)


def map_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every member of an uncompressed ``.npz`` as a read-only ``np.memmap`` (compressed ones are read)."""
    p = Path(path)
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(p) as zf, open(p, "rb") as f:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with zf.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            f.seek(info.header_offset)
            fields = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
            f.seek(info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype.hasobject:
                raise ValueError(f"{p}: member {name} holds Python objects")
            if int(np.prod(shape)) == 0:
                out[name] = np.zeros(shape, dtype)
                continue
            out[name] = np.memmap(
                p, dtype=dtype, mode="r", offset=f.tell(), shape=shape, order="F" if fortran else "C"
            )
    return out


def save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """An uncompressed ``.npz`` (so :func:`map_npz` can map it), written in place."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)
