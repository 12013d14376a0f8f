"""HailoRT embedder: runs a HEF on a Hailo-8/8L through ``hailo_platform`` (HailoRT's
Python API, from the ``hailo-all`` apt package on a Raspberry Pi).

Uses the documented inference flow: ``HEF(path)`` -> ``VDevice()`` ->
``ConfigureParams.create_from_hef(hef, interface=HailoStreamInterface.PCIe)`` ->
``device.configure(hef, params)[0]`` -> ``InputVStreamParams.make(ng, format_type=
FormatType.UINT8)`` / ``OutputVStreamParams.make(ng, format_type=FormatType.FLOAT32)`` ->
``InferVStreams(...).infer({input_name: batch})`` inside ``network_group.activate(...)``.
The HEF takes the same uint8 NHWC crop as the ONNX model; its output is the embedding head
before L2 normalization, which ``Embedder.embed`` applies for every backend.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from pokecard.embed.base import ModelEmbedder
from pokecard.errors import MissingDependency, ModelError
from pokecard.modelcard import ModelCard

HAILORT_MISSING = (
    "HailoRT's Python API (hailo_platform) is not installed. On a Raspberry Pi 5 with the AI Kit/HAT: "
    "`sudo apt install hailo-all` and create the venv with --system-site-packages; elsewhere use "
    "--backend onnxruntime"
)


class HailoEmbedder(ModelEmbedder):
    backend = "hailort"

    def __init__(self, card: ModelCard, model_path: Path) -> None:
        super().__init__(card, model_path)
        try:
            import hailo_platform as hp
        except ImportError as e:
            raise MissingDependency(HAILORT_MISSING) from e
        self._hp = hp
        self._stack = contextlib.ExitStack()
        try:
            self.hef = hp.HEF(str(model_path))
            self.device = self._stack.enter_context(hp.VDevice())
            params = hp.ConfigureParams.create_from_hef(self.hef, interface=hp.HailoStreamInterface.PCIe)
            self.network_group = self.device.configure(self.hef, params)[0]
            self.input_name = self.hef.get_input_vstream_infos()[0].name
            self.output_name = self.hef.get_output_vstream_infos()[0].name
            in_params = hp.InputVStreamParams.make(self.network_group, format_type=hp.FormatType.UINT8)
            out_params = hp.OutputVStreamParams.make(self.network_group, format_type=hp.FormatType.FLOAT32)
            self._pipeline = self._stack.enter_context(
                hp.InferVStreams(self.network_group, in_params, out_params)
            )
            self._stack.enter_context(self.network_group.activate(self.network_group.create_params()))
        except MissingDependency:
            raise
        except Exception as e:  # HailoRT raises its own status exceptions
            self._stack.close()
            raise ModelError(f"{model_path}: HailoRT cannot load this HEF ({e})") from e

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        out = self._pipeline.infer({self.input_name: np.ascontiguousarray(batch, dtype=np.uint8)})[
            self.output_name
        ]
        return np.asarray(out, dtype=np.float32).reshape(len(batch), -1)

    def close(self) -> None:
        self._stack.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()
