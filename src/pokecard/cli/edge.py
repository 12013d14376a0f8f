"""`pokecard export hef`: the Hailo compilation hook (needs Hailo's Dataflow Compiler)."""

from __future__ import annotations

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group, json_mode


def export_hef_cmd(
    root: str = ROOT_OPT,
    model: str = typer.Option("auto", "--model", help="Student ONNX (path or store key); auto = the newest."),
    hw_arch: str = typer.Option("hailo8l", "--hw-arch", help="hailo8 | hailo8l | hailo8r"),
    calib: int = typer.Option(1024, "--calib", min=8, help="Calibration images (simulated crops)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Compile the student ONNX to a HEF: calibration set -> DFC optimize -> compile -> layout key."""
    import dataclasses
    import tempfile
    from pathlib import Path

    from pokecard import layout
    from pokecard.errors import ModelError
    from pokecard.export import hailo
    from pokecard.model_files import resolve_model
    from pokecard.modelcard import ModelCard, card_path_for
    from pokecard.store import open_store, sha256_file

    json_mode(as_json)
    st = open_store(root)
    resolved = resolve_model(st, model)
    if resolved is None:
        raise ModelError(f"no student ONNX under {st.url}{layout.STUDENT_DIR}: run `make train` first")
    card = ModelCard.load(card_path_for(resolved.path))
    # Written before the compiler is needed, so it is ready when the DFC is installed.
    calibration = hailo.write_calibration(st, card, calib)
    version = resolved.path.parent.name
    with tempfile.TemporaryDirectory() as d:
        hef = hailo.compile_hef(
            resolved.path, card, calibration.astype("float32"), Path(d) / "m.hef", hw_arch=hw_arch
        )
        hef_card = dataclasses.replace(
            card, hef_sha256=sha256_file(hef), extra={**card.extra, "hw_arch": hw_arch}
        )
        with st.batch():
            st.put_file(layout.hailo_hef(version), hef)
            st.put_json(layout.model_card(layout.hailo_dir(version)), hef_card.as_dict())
    result = {"hef": f"{st.url}{layout.hailo_hef(version)}", "hw_arch": hw_arch, "calibration_images": calib}
    if as_json:
        emit_json(result)
    else:
        console().print(f"wrote {result['hef']} ({hw_arch}, {calib} calibration images)", highlight=False)


def register(app: typer.Typer) -> None:
    group(app, "export", "Export models: ONNX and Hailo HEF.").command("hef")(export_hef_cmd)
