"""Where a root's models are: the newest student, and a path or store key as a local file.

Used by the reference DB build, the recognizer, the HEF export and the benchmarks, so every
one of them finds "the model" the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pokecard import layout
from pokecard.errors import ModelError, PokecardError
from pokecard.modelcard import ModelCard
from pokecard.store import Store, open_store

log = logging.getLogger(__name__)


def find_student(store: Store | str | os.PathLike[str]) -> str | None:
    """The newest student ONNX under STUDENT_DIR that has a model card beside it (store key)."""
    st = open_store(store)
    found: list[tuple[str, str]] = []
    for obj in st.list(layout.STUDENT_DIR):
        if not obj.key.endswith("/" + layout.STUDENT_ONNX):
            continue
        folder = obj.key.rsplit("/", 1)[0]
        card_key = layout.model_card(folder)
        if not st.exists(card_key):
            continue
        try:
            created = ModelCard.from_dict(st.get_json(card_key), card_key).created
        except PokecardError as e:
            log.warning("skipping %s: %s", obj.key, e)
            continue
        found.append((created, obj.key))
    return max(found)[1] if found else None


@dataclass
class ResolvedModel:
    path: Path
    key: str | None  # store key when the model lives in the project root


def resolve_model(
    store: Store | str | os.PathLike[str], model: str | os.PathLike[str] | None
) -> ResolvedModel | None:
    """``model`` as a local file with its model card beside it: a path, a store key, or
    None/"auto" for the newest student (None when there is none)."""
    st = open_store(store)
    if model is None or str(model) == "auto":
        key = find_student(st)
        if key is None:
            return None
        model = key
    p = Path(model)
    if p.is_file():
        return ResolvedModel(path=p.resolve(), key=None)
    try:
        key = layout.validate_key(str(model))
    except PokecardError:
        key = None
    if key and st.exists(key):
        local = st.local_path(key)
        folder = key.rsplit("/", 1)[0] if "/" in key else ""
        card_key = layout.model_card(folder) if folder else layout.MODEL_CARD
        if st.exists(card_key) and not local.with_name(layout.MODEL_CARD).is_file():
            st.get_file(card_key, local.with_name(layout.MODEL_CARD))
        return ResolvedModel(path=local, key=key)
    raise ModelError(f"{model}: model not found (neither a file nor a key under {st.url})")


def hef_for(store: Store | str | os.PathLike[str], model: ResolvedModel) -> ResolvedModel:
    """The HEF compiled from ``model`` (an ONNX student in the root, version = its folder),
    with its model card beside it, for running the same model on a Hailo chip."""
    st = open_store(store)
    if model.path.suffix == ".hef":
        return model
    version = model.path.parent.name
    key = layout.hailo_hef(version)
    if not st.exists(key):
        raise ModelError(
            f"{st.url}{key}: no HEF compiled from {model.key or model.path}; run `make export-hef` "
            "(on an x86 machine with Hailo's Dataflow Compiler) or use --backend onnx"
        )
    local = st.local_path(key)
    card_key = layout.model_card(layout.hailo_dir(version))
    if st.exists(card_key) and not local.with_name(layout.MODEL_CARD).is_file():
        st.get_file(card_key, local.with_name(layout.MODEL_CARD))
    return ResolvedModel(path=local, key=key)
