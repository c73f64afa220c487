"""Training configuration: a TOML file, overridable on the command line."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where the repository expects the shared data sets (relative to the repo root).
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


#: Config fields that cannot change the trained weights: names, where files go, and
#: export-only settings. Resuming a run with progress under a config that differs in
#: any *other* field is refused (see :func:`training.train.check_resumable`).
RESUME_SAFE_FIELDS = frozenset(
    {
        "name", "version", "run_dir", "cache_dir", "models_dir", "bccd_dir", "lisc_dir", "quantize", "int8_float_layers",
        "release_min_test_accuracy",
    }
)


@dataclass
class TrainConfig:
    """Every knob of a training run.

    The defaults are a plain baseline; the shipped model's settings are in
    ``training/configs/lite0.toml``, which the CLI loads unless told otherwise.
    """

    name: str = "hemolens-lite0"
    version: str = "1.0.0"
    data_dir: str = str(DEFAULT_DATA_ROOT / "pbc8")
    bccd_dir: str = str(DEFAULT_DATA_ROOT / "bccd-wbc")
    lisc_dir: str = str(DEFAULT_DATA_ROOT / "lisc-wbc")
    run_dir: str = "runs/hemolens-lite0"
    cache_dir: str = "cache"
    models_dir: str = "models"
    backbone: str = "lite0"
    #: "imagenet" (converted Lite0/Lite1 weights offline; keras download for others),
    #: a local .h5/.weights.h5 path, or "none" for random initialisation.
    weights: str = "imagenet"
    seed: int = 1234
    batch_size: int = 32
    dropout: float = 0.2
    class_weighting: bool = True
    # Stage 1: head on the frozen backbone, trained on cached features.
    stage1_epochs: int = 40
    stage1_lr: float = 1e-3
    # Stage 2: fine-tune from this layer on, BatchNormalization kept in inference mode.
    stage2_epochs: int = 24
    stage2_lr: float = 3e-4
    stage2_min_lr: float = 1e-6
    #: Warm restarts: the first cosine cycle's length in epochs (0: one cycle over all
    #: epochs), each next cycle's length factor and peak learning-rate factor.
    stage2_cycle_epochs: int = 16
    stage2_cycle_mul: float = 0.5
    stage2_restart_lr_mul: float = 0.33
    unfreeze_from: str = "block2a_"
    #: Polyak averaging of the fine-tuned weights (0 = off). Validation, the best
    #: checkpoint and the exported model use the averaged weights, which are less
    #: noisy than the last step's on small batches.
    stage2_ema_momentum: float = 0.0
    #: Decoupled weight decay in the fine-tuning stages (AdamW, Loshchilov & Hutter 2019;
    #: 0 = plain Adam): each step shrinks every trainable weight by ``lr * decay``.
    stage2_weight_decay: float = 0.0
    patience: int = 5
    #: Stage 3 (0 epochs = off): a second fine-tuning pass from stage 2's best weights,
    #: deeper (from ``stage3_unfreeze_from``, BatchNormalization still frozen), at a lower
    #: learning rate (one epoch of warm-up, then a cosine decay), with its own rotation
    #: augmentation. It keeps an epoch only if it beats the val accuracy of the weights it
    #: started from. Measured on 1.1.0: it made val worse (training/EXPERIMENTS.md).
    stage3_epochs: int = 0
    stage3_lr: float = 1e-4
    stage3_unfreeze_from: str = "stem_conv"
    stage3_aug_rotation: float = 0.0
    #: Regularisers against overfitting and overconfidence (0 = off). Label smoothing
    #: (both stages) trains towards ``(1 - s) * one_hot + s / classes``; mixup (stage 2)
    #: blends each image and its target with another's, weight ~ Beta(alpha, alpha).
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0
    #: Distillation in the fine-tuning stages (0 = off; Hinton et al. 2015, "born-again"
    #: when the teacher has the student's architecture, Furlanello et al. 2018). A trained
    #: ``.keras`` classifier (``distill_teacher``) sees each augmented training batch, and
    #: the target becomes ``(1 - w) * one_hot + w * softmax(teacher_logits / T)`` with
    #: ``w = distill_weight`` and ``T = distill_temperature``. Validation keeps the true labels.
    distill_teacher: str = ""
    distill_weight: float = 0.0
    distill_temperature: float = 1.0
    # Augmentation strengths (smear images have no canonical orientation).
    aug_zoom: float = 0.12
    aug_shift: float = 0.08
    aug_brightness: float = 0.08
    aug_contrast: float = 0.12
    aug_hue: float = 0.03
    aug_saturation: float = 0.15
    #: What differs between labs (training/augment.py; 0 = off, as 1.1.0 was trained):
    #: stain concentration (each dye's optical density scaled by 1 ± aug_stain), gamma
    #: (1/(1+g) .. 1+g), defocus (Gaussian sigma up to aug_blur px), sensor noise (std up to
    #: aug_noise of full scale) and JPEG quality (down to aug_jpeg_min_quality; 0 = off).
    aug_stain: float = 0.0
    aug_gamma: float = 0.0
    aug_blur: float = 0.0
    aug_noise: float = 0.0
    aug_jpeg_min_quality: int = 0
    #: Find the white cell and centre the square on it (hemoapp.core.cellfind) instead of
    #: the plain centre crop; the card records it and the app decodes the same way.
    cell_finding: bool = False
    #: Largest rotation in degrees, either way, on top of the 90° turns (0 = turns only).
    #: ±45° in stage 2 lowered val accuracy by about a point (README).
    aug_rotation: float = 0.0
    #: "none", "float16", "dynamic" or "int8" (see training.export.tflite_bytes).
    quantize: str = "float16"
    #: With int8: keep this many layers, those with the largest int8 error, in float.
    int8_float_layers: int = 0
    #: Export replaces the shipped model only if the exported .tflite reaches this test
    #: accuracy (the release floor, 99.0%); otherwise the candidate stays in the run folder.
    release_min_test_accuracy: float = 0.99
    limit_per_class: int = 0  # >0: use only this many images per class (tests, smoke runs)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def framing(self) -> str:
        """The contract framing this config trains and exports with."""
        from hemoapp.core.contract import FRAMING_CELL_CENTRED, FRAMING_CENTRE_CROP

        return FRAMING_CELL_CENTRED if self.cell_finding else FRAMING_CENTRE_CROP

    @classmethod
    def from_file(cls, path: str | Path | None, overrides: dict[str, Any] | None = None) -> "TrainConfig":
        """Load a TOML file (``[train]`` table or top level) and apply overrides."""
        values: dict[str, Any] = {}
        if path:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
            values.update(data.get("train", data))
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        config = cls()
        for key, value in values.items():
            default = getattr(config, key)
            if isinstance(default, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                value = type(default)(value)
            setattr(config, key, value)
        return config

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict view for logs and the model card."""
        return dataclasses.asdict(self)
