"""PhotoConfig: which effects the simulator applies and how strongly. Configs are data.

Every effect has a probability ``<effect>_p`` (0 = off, 1 = always) and, where it has a
strength, a ``(low, high)`` range sampled uniformly from the photo's seed. Presets:

* :meth:`PhotoConfig.none`  - no effect, no tilt, no rotation: the card pasted on a plain
  background (the geometry reference for tests);
* :meth:`PhotoConfig.train` - broad augmentation for training crops and scenes;
* :meth:`PhotoConfig.eval`  - what a phone photo of a card on a table typically looks like
  (the held-out evaluation set);
* :meth:`PhotoConfig.hard`  - the bad cases: steep angles, sleeves with glare, holo, blur,
  low light, low resolution, occlusion.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

Range = tuple[float, float]


@dataclass(frozen=True)
class PhotoConfig:
    # geometry (scene)
    perspective: bool = True
    max_tilt_deg: float = 25.0
    max_rotation_deg: float = 15.0
    upside_down_p: float = 0.1
    scale_range: Range = (0.45, 0.85)  # projected card height / photo height
    # background
    background_p: float = 1.0  # textured surface (table, wood, cloth, mat) instead of plain grey
    clutter_p: float = 0.5  # objects on the surface
    distractor_p: float = 0.4  # other cards (catalogue cards or card backs) in the frame
    max_distractors: int = 3
    shadow_p: float = 0.6
    # card surface
    print_shift_p: float = 0.8  # print-vs-scan colour: gain, gamma, saturation, black level
    print_shift: float = 1.0  # strength multiplier
    holo_p: float = 0.15
    sleeve_p: float = 0.25
    toploader_p: float = 0.08
    glare_p: float = 0.2
    # occlusion
    finger_p: float = 0.1
    occluder_card_p: float = 0.05
    # light
    light_p: float = 0.8  # exposure + colour temperature
    exposure_range: Range = (0.65, 1.3)
    temperature_range: Range = (-0.18, 0.18)  # + warm (tungsten), - cool (shade)
    uneven_light_p: float = 0.5  # vignetting and a light gradient across the frame
    # optics and sensor
    motion_blur_p: float = 0.15
    motion_blur_px: Range = (3.0, 11.0)  # kernel length at 960 px photo width
    defocus_p: float = 0.2
    defocus_px: Range = (1.0, 3.0)  # disk radius at 960 px photo width
    lowres_p: float = 0.15
    lowres_range: Range = (0.3, 0.6)  # downscale factor before the sensor
    noise_p: float = 0.7
    noise_sigma: Range = (2.0, 8.0)
    sharpen_p: float = 0.5  # the phone's unsharp mask (halos at edges)
    jpeg_p: float = 0.8
    jpeg_quality: Range = (45.0, 92.0)
    # training crops (what the device sees after detection + rectification)
    crop_card_px: Range = (150.0, 480.0)  # card height in the photo before rectification
    crop_jitter: float = 0.02  # detector corner error, fraction of card size (std)
    crop_rotate180_p: float = 0.0  # the rectifier may deliver the card upside down

    # -- presets -----------------------------------------------------------------------
    @classmethod
    def none(cls) -> PhotoConfig:
        return cls(
            perspective=False,
            max_tilt_deg=0.0,
            max_rotation_deg=0.0,
            upside_down_p=0.0,
            scale_range=(0.55, 0.8),
            **{f: 0.0 for f in _PROBABILITIES if f != "upside_down_p"},
            crop_jitter=0.0,
        )

    @classmethod
    def train(cls) -> PhotoConfig:
        return cls(
            max_tilt_deg=30.0,
            max_rotation_deg=25.0,
            upside_down_p=0.15,
            scale_range=(0.3, 0.9),
            holo_p=0.25,
            sleeve_p=0.3,
            toploader_p=0.1,
            glare_p=0.3,
            finger_p=0.15,
            occluder_card_p=0.08,
            motion_blur_p=0.2,
            defocus_p=0.25,
            lowres_p=0.25,
            exposure_range=(0.55, 1.4),
            temperature_range=(-0.22, 0.22),
            jpeg_quality=(35.0, 95.0),
            crop_card_px=(110.0, 520.0),
            crop_jitter=0.025,
            crop_rotate180_p=0.1,
        )

    @classmethod
    def eval(cls) -> PhotoConfig:
        # the device cannot tell a card's top from its bottom before recognition: crops
        # come upside down as often as cards lie upside down in scenes
        return cls(crop_rotate180_p=0.1)

    @classmethod
    def hard(cls) -> PhotoConfig:
        return cls(
            max_tilt_deg=40.0,
            max_rotation_deg=45.0,
            upside_down_p=0.25,
            scale_range=(0.28, 0.75),
            clutter_p=0.8,
            distractor_p=0.7,
            max_distractors=5,
            print_shift=1.6,
            holo_p=0.4,
            sleeve_p=0.5,
            toploader_p=0.2,
            glare_p=0.6,
            finger_p=0.3,
            occluder_card_p=0.15,
            exposure_range=(0.4, 1.5),
            temperature_range=(-0.3, 0.3),
            uneven_light_p=0.8,
            motion_blur_p=0.35,
            motion_blur_px=(4.0, 13.0),
            defocus_p=0.4,
            defocus_px=(1.5, 3.5),
            lowres_p=0.45,
            lowres_range=(0.35, 0.6),
            noise_p=0.9,
            noise_sigma=(3.0, 11.0),
            jpeg_p=0.95,
            jpeg_quality=(30.0, 75.0),
            crop_card_px=(120.0, 380.0),
            crop_jitter=0.04,
            crop_rotate180_p=0.2,
        )

    @classmethod
    def preset(cls, name: str) -> PhotoConfig:
        presets = {"none": cls.none, "train": cls.train, "eval": cls.eval, "hard": cls.hard}
        if name not in presets:
            raise ValueError(f"unknown photo preset {name!r}: choose one of {', '.join(presets)}")
        return presets[name]()

    @classmethod
    def only(cls, effect: str, **overrides: Any) -> PhotoConfig:
        """The none() config with one effect always on (for tests and the contact sheet)."""
        if effect not in EFFECTS:
            raise ValueError(f"unknown effect {effect!r}: choose one of {', '.join(EFFECTS)}")
        return dataclasses.replace(cls.none(), **EFFECTS[effect], **overrides)

    def replace(self, **changes: Any) -> PhotoConfig:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_PROBABILITIES = tuple(f.name for f in dataclasses.fields(PhotoConfig) if f.name.endswith("_p"))

# effect name -> the fields that switch it fully on (on top of PhotoConfig.none()).
EFFECTS: dict[str, dict[str, Any]] = {
    "perspective": {"perspective": True, "max_tilt_deg": 30.0},
    "rotation": {"max_rotation_deg": 30.0},
    "upside_down": {"upside_down_p": 1.0},
    "background": {"background_p": 1.0},
    "clutter": {"clutter_p": 1.0},
    "distractors": {"distractor_p": 1.0},
    "shadow": {"shadow_p": 1.0},
    "print_shift": {"print_shift_p": 1.0},
    "holo": {"holo_p": 1.0},
    "sleeve": {"sleeve_p": 1.0},
    "toploader": {"toploader_p": 1.0},
    "glare": {"glare_p": 1.0},
    "finger": {"finger_p": 1.0},
    "occluder_card": {"occluder_card_p": 1.0},
    "light": {"light_p": 1.0},
    "uneven_light": {"uneven_light_p": 1.0},
    "motion_blur": {"motion_blur_p": 1.0},
    "defocus": {"defocus_p": 1.0},
    "lowres": {"lowres_p": 1.0},
    "noise": {"noise_p": 1.0},
    "sharpen": {"sharpen_p": 1.0},
    "jpeg": {"jpeg_p": 1.0},
    "crop_jitter": {"crop_jitter": 0.04},
    "crop_rotate180": {"crop_rotate180_p": 1.0},
}
