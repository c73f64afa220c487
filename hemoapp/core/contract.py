"""The one definition of what the model sees and says.

Training and the app both import this module, so they can never disagree about the
class order, the input size or the preprocessing. The model card that ships beside
every model repeats these values, and the app refuses a card that disagrees.

Pixel scaling (``/255``, mean/std) lives *inside* the model as layers, so the
only preprocessing outside it is: decode, convert to RGB, resize (see
:func:`hemoapp.core.imageio.load_rgb`). Nothing here imports Qt or TensorFlow.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Class order of the model's output vector. Never reorder: it is the model's API.
CLASS_NAMES: tuple[str, ...] = (
    "basophil",
    "eosinophil",
    "erythroblast",
    "ig",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)

#: Human-readable names, as a lab report writes them.
DISPLAY_NAMES: dict[str, str] = {
    "basophil": "Basophil",
    "eosinophil": "Eosinophil",
    "erythroblast": "Erythroblast",
    "ig": "Immature granulocyte",
    "lymphocyte": "Lymphocyte",
    "monocyte": "Monocyte",
    "neutrophil": "Neutrophil",
    "platelet": "Platelet",
}

#: Short names, as on a lab's cell counter keys, where a full name does not fit (review buttons, gallery).
SHORT_NAMES: dict[str, str] = {
    "basophil": "Baso",
    "eosinophil": "Eos",
    "erythroblast": "Ery",
    "ig": "IG",
    "lymphocyte": "Lym",
    "monocyte": "Mono",
    "neutrophil": "Neut",
    "platelet": "Plt",
}

#: White cells that make up the differential count (percent of white cells).
WHITE_CELL_CLASSES: tuple[str, ...] = (
    "neutrophil",
    "lymphocyte",
    "monocyte",
    "eosinophil",
    "basophil",
    "ig",
)

#: Side of the square model input, in pixels. Chosen by measurement (see README,
#: "Model"): on 2 CPU cores Lite0 runs 567 images/s at 128 px but 325 at 160 px,
#: and only 128 px leaves time for decoding within the 300 images/s target.
IMAGE_SIZE: int = 128

#: Fraction of each side kept, around the centre, before resizing. Analysers
#: centre the cell in the exported field; the outer ring is mostly red cells, so
#: cropping it gives the cell about a third more pixels at the same model cost.
#: Measured on PBC val: see README, "Model".
CENTER_CROP: float = 0.75

#: Colour mode of the array handed to the model: 8-bit RGB, channels last.
COLOR_MODE: str = "RGB"

#: Pillow resampling filter name used to resize the central crop to IMAGE_SIZE.
#: Pillow's bilinear filter is antialiased when it shrinks (it widens its support).
RESIZE_METHOD: str = "bilinear"

#: How the square the model sees is chosen. ``centre-crop``: the central CENTER_CROP of
#: the field, as the analyser centres the cell (models up to 1.1.0). ``cell-centred``:
#: the white cell is found and the square centred on it, zoomed only where the picture's
#: framing is outside PBC's (:mod:`hemoapp.core.cellfind`), for other labs' exports. The
#: card says which one its model was trained with, and the app decodes accordingly.
FRAMING_CENTRE_CROP: str = "centre-crop"
FRAMING_CELL_CENTRED: str = "cell-centred"
FRAMINGS: tuple[str, ...] = (FRAMING_CENTRE_CROP, FRAMING_CELL_CENTRED)

#: Input dtype and range the model expects; scaling happens inside the model.
INPUT_DTYPE: str = "uint8"
INPUT_RANGE: tuple[int, int] = (0, 255)

#: Calibration temperatures a card may carry. Fitted ones are near 1 (0.5-3); a value far
#: outside (0, or 1e-320, which turns every logit into inf and every probability into NaN)
#: is a broken card, refused rather than run.
TEMPERATURE_RANGE: tuple[float, float] = (0.05, 20.0)

#: Bump when the card format changes incompatibly.
CARD_SCHEMA_VERSION: int = 1


class ModelCardError(ValueError):
    """A model card is missing, malformed, or disagrees with this contract."""


@dataclass
class ModelCard:
    """The JSON document that ships beside every ``.tflite`` model.

    Attributes mirror the file's keys. ``sha256`` is the hex digest of the model
    file the card describes; ``calibration_temperature`` divides the logits
    before the softmax (1.0 means uncalibrated).
    """

    name: str
    version: str
    classes: list[str]
    input_size: int
    preprocessing: dict[str, Any]
    sha256: str
    created: str
    calibration_temperature: float = 1.0
    review_threshold: float = 0.9
    architecture: str = ""
    training_data: dict[str, Any] = field(default_factory=dict)
    #: How the weights were trained: recipe, epochs, code commit, software (training.provenance).
    #: Cards written before it existed have none, so the app shows it but needs nothing from it.
    training: dict[str, Any] = field(default_factory=dict)
    citation: str = ""
    licence: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    model_file: str = ""
    #: When a cell is *not assessable* (quality limits, the energy limit) and what that measured
    #: (hemoapp.core.assessability; fitted by training/assessability.py). Optional: a card without
    #: it declares no cell not assessable by the energy score.
    assessability: dict[str, Any] = field(default_factory=dict)
    schema_version: int = CARD_SCHEMA_VERSION

    def to_json(self) -> str:
        """Serialise the card as pretty-printed JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelCard":
        """Build a card from parsed JSON, rejecting missing or unknown-typed keys."""
        required = ("name", "version", "classes", "input_size", "preprocessing", "sha256", "created")
        missing = [key for key in required if key not in data]
        if missing:
            raise ModelCardError(f"model card lacks required keys: {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__}
        try:
            card = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:  # pragma: no cover - dataclass signature guards this
            raise ModelCardError(f"model card is malformed: {exc}") from exc
        try:
            card.input_size = int(card.input_size)
            card.calibration_temperature = float(card.calibration_temperature)
            card.review_threshold = float(card.review_threshold)
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(1e999)
            raise ModelCardError(f"model card has a non-numeric field: {exc}") from exc
        # Wrong JSON types would otherwise surface later as AttributeError/TypeError
        # (e.g. "preprocessing": "rgb" in check_card), not as a clear card error.
        expected_types = {
            "name": str,
            "version": str,
            "classes": list,
            "preprocessing": dict,
            "sha256": str,
            "created": str,
            "training_data": dict,
            "training": dict,
            "metrics": dict,
            "assessability": dict,
        }
        wrong = [key for key, kind in expected_types.items() if not isinstance(getattr(card, key), kind)]
        if isinstance(card.classes, list) and not all(isinstance(name, str) for name in card.classes):
            wrong.append("classes")
        if wrong:
            raise ModelCardError(f"model card has fields of the wrong type: {', '.join(sorted(set(wrong)))}")
        return card

    @classmethod
    def load(cls, path: Path) -> "ModelCard":
        """Read and parse a card file; any problem becomes :class:`ModelCardError`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelCardError(f"model card not found: {path}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelCardError(f"model card {path} cannot be read: {exc}") from exc
        except RecursionError:  # absurdly nested JSON: no card of ours looks like that
            raise ModelCardError(f"model card {path} is nested too deeply to be a model card") from None
        if not isinstance(data, dict):
            raise ModelCardError(f"model card {path} is not a JSON object")
        return cls.from_dict(data)


def contract_preprocessing(framing: str = FRAMING_CENTRE_CROP) -> dict[str, Any]:
    """The preprocessing block a card must carry, as this contract defines it.

    A centre-crop card has no ``framing`` key (cards written before framings existed
    are exactly such cards); a cell-centred card says so.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r}; expected one of {', '.join(FRAMINGS)}")
    block: dict[str, Any] = {
        "color_mode": COLOR_MODE,
        "center_crop": CENTER_CROP,
        "resize": RESIZE_METHOD,
        "input_dtype": INPUT_DTYPE,
        "input_range": list(INPUT_RANGE),
        "scaling": "inside model",
    }
    if framing != FRAMING_CENTRE_CROP:
        block["framing"] = framing
    return block


def card_framing(card: "ModelCard") -> str:
    """The framing a card's model was trained with (``centre-crop`` when the card names none)."""
    return str(card.preprocessing.get("framing", FRAMING_CENTRE_CROP))


def check_card(card: ModelCard) -> None:
    """Raise :class:`ModelCardError` unless ``card`` agrees with this contract.

    Checked: class names and order, input size, preprocessing and a sane
    calibration temperature and review threshold. The sha256 is checked by the
    classifier against the model file itself.
    """
    problems: list[str] = []
    if list(card.classes) != list(CLASS_NAMES):
        problems.append(f"classes {list(card.classes)} differ from the app's {list(CLASS_NAMES)}")
    if card.input_size != IMAGE_SIZE:
        problems.append(f"input size {card.input_size} differs from the app's {IMAGE_SIZE}")
    framing = card_framing(card)
    if framing not in FRAMINGS:
        problems.append(f"preprocessing 'framing' is {framing!r}, the app knows {', '.join(FRAMINGS)}")
        framing = FRAMING_CENTRE_CROP
    expected = contract_preprocessing(framing)
    for key, value in expected.items():
        if card.preprocessing.get(key) != value:
            problems.append(
                f"preprocessing '{key}' is {card.preprocessing.get(key)!r}, the app expects {value!r}"
            )
    low, high = TEMPERATURE_RANGE
    if not low <= card.calibration_temperature <= high:  # also refuses NaN
        problems.append(
            f"calibration temperature {card.calibration_temperature} is outside the sane range [{low}, {high}]"
        )
    if not 0.0 <= card.review_threshold <= 1.0:
        problems.append(f"review threshold {card.review_threshold} is outside [0, 1]")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", card.sha256):
        problems.append("sha256 is not a 64-character hex digest")
    if problems:
        raise ModelCardError("model card disagrees with the app: " + "; ".join(problems))


def display_name(class_name: str) -> str:
    """Return the display name of a class, or the name itself if unknown."""
    return DISPLAY_NAMES.get(class_name, class_name)
