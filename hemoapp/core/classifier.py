"""Load a LiteRT model with its card, check both against the contract, predict batches.

A model is only used when its card agrees with :mod:`hemoapp.core.contract` and
the model file is byte-for-byte the one the card describes (sha256). The model
outputs logits; probabilities are ``softmax(logits / T)`` with the card's
calibration temperature ``T``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE, ModelCard, ModelCardError, card_framing, check_card

#: Environment variable naming a model file to use instead of the installed one.
MODEL_ENV_VAR = "HEMOLENS_MODEL"

#: The model HemoLens ships; preferred when a folder holds several.
DEFAULT_MODEL_NAME = "hemolens-lite0"

#: ``models/`` of the source tree (``<repo>/hemoapp/core/classifier.py`` → ``<repo>/models``).
SOURCE_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


class ModelLoadError(Exception):
    """The model cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ModelInfo:
    """Identity of a loaded model (written into every result row).

    Attributes:
        name: the card's model name.
        version: the card's model version.
        sha256: hex digest of the model file (checked against the card).
        path: the model file.
        card: the full card.
    """

    name: str
    version: str
    sha256: str
    path: Path
    card: ModelCard


def card_path_for(model_path: str | os.PathLike[str]) -> Path:
    """The card beside a model: ``models/x.tflite`` → ``models/x.card.json`` (training writes it there)."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".card.json")


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise ``softmax(logits / temperature)`` as float32, computed stably in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=-1, keepdims=True)
    return scaled.astype(np.float32)


class Classifier:
    """A checked LiteRT model that turns uint8 RGB batches into class probabilities.

    Calls are serialised with a lock: a LiteRT interpreter is not thread-safe, and
    the GUI may ask for a single image while a batch runs.

    Args:
        model_path: the ``.tflite`` file; its card must sit beside it.
        num_threads: inference threads (default: all CPU cores).

    Raises:
        ModelLoadError: the file or card is missing, they disagree, the card
            disagrees with the app, or the file is not a usable model.
    """

    def __init__(self, model_path: str | os.PathLike[str], num_threads: int | None = None) -> None:
        self.model_path = Path(model_path)
        self.num_threads = max(1, int(num_threads or os.cpu_count() or 1))
        # The file is read once: the bytes that were hashed and checked against the
        # card are the bytes LiteRT runs (reading the path twice would let a file
        # replaced in between run under the checked file's name and sha256).
        self.card, model_bytes, digest = _load_checked_model(self.model_path)
        self.info = ModelInfo(
            name=self.card.name,
            version=self.card.version,
            sha256=digest,
            path=self.model_path,
            card=self.card,
        )
        self.class_names: tuple[str, ...] = tuple(self.card.classes)
        self.input_size: int = self.card.input_size
        #: How the square the model sees is chosen (the card's; see hemoapp.core.contract).
        self.framing: str = card_framing(self.card)
        self.temperature: float = self.card.calibration_temperature
        self._lock = threading.Lock()
        # LiteRT reads the model from this buffer for the interpreter's whole life:
        # keep it referenced here too, not only inside the interpreter.
        self._model_bytes = model_bytes
        self._interpreter = _make_interpreter(model_bytes, self.model_path, self.num_threads)
        self._input, self._output = _check_signature(self._interpreter, self.model_path, self.input_size)
        # Batch size the input tensor is currently allocated for (the converter leaves 1).
        self._batch = int(self._input["shape"][0])

    def __repr__(self) -> str:
        return f"Classifier({self.info.name!r} {self.info.version}, {self.model_path})"

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on a batch.

        Args:
            batch: uint8 array ``(N, S, S, 3)`` with ``S`` the model's input size.

        Returns:
            float32 logits ``(N, 8)``.

        Raises:
            ValueError: the batch has the wrong dtype or shape.
        """
        batch = np.asarray(batch)
        size = self.input_size
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ValueError(
                f"expected a uint8 batch of shape (N, {size}, {size}, 3), got {batch.dtype} {batch.shape}"
            )
        count = batch.shape[0]
        if count == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        with self._lock:
            interpreter = self._interpreter
            if count != self._batch:
                # Re-plan the graph only when the batch size changes (usually twice a
                # run: the full batches, then the shorter last one).
                interpreter.resize_tensor_input(self._input["index"], [count, size, size, 3], strict=True)
                interpreter.allocate_tensors()
                self._batch = count
            interpreter.set_tensor(self._input["index"], batch.astype(self._input["dtype"], copy=False))
            interpreter.invoke()
            return np.array(interpreter.get_tensor(self._output["index"]), dtype=np.float32)

    def predict_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``softmax(logits / T)``, float32 ``(N, 8)``.

        Args:
            batch: uint8 array ``(N, S, S, 3)``, as :func:`hemoapp.core.imageio.load_rgb` returns.
        """
        return softmax(self.predict_logits(batch), self.temperature)


def _load_checked_model(model_path: Path) -> tuple[ModelCard, bytes, str]:
    """The model's card, its bytes and their sha256, once all checks have passed."""
    if not model_path.is_file():
        raise ModelLoadError(not_a_model_file(model_path))
    card_path = card_path_for(model_path)
    if not card_path.is_file():
        raise ModelLoadError(
            f"The model {model_path.name} has no model card ({card_path.name} must sit beside it). "
            "HemoLens only runs models that come with their card."
        )
    try:
        card = ModelCard.load(card_path)
        check_card(card)
    except ModelCardError as exc:
        raise ModelLoadError(f"The model card {card_path} cannot be used: {exc}") from exc
    try:
        model_bytes = model_path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"The model file {model_path} cannot be read: {exc.strerror or exc}") from exc
    actual = hashlib.sha256(model_bytes).hexdigest()
    if actual != card.sha256.lower():
        raise ModelLoadError(
            f"The model file {model_path.name} does not match its card (sha256 {actual[:12]}… "
            f"but the card says {card.sha256[:12]}…). The file was changed or the card belongs "
            "to another model; reinstall the model."
        )
    return card, model_bytes, actual


def not_a_model_file(model_path: Path) -> str:
    """Why ``model_path`` (no regular file) cannot be loaded, and what HemoLens expects instead."""
    expected = (
        "HemoLens expects the path of a LiteRT model file (NAME.tflite) with its model card "
        "(NAME.card.json) beside it"
    )
    if not model_path.is_dir():
        return f"The model file {model_path} does not exist. {expected}."
    models = sorted(p for p in model_path.glob("*.tflite") if card_path_for(p).is_file())
    if len(models) == 1:
        found = f"; give {models[0]} instead"
    elif models:
        found = f"; give one of the models in it instead ({', '.join(p.name for p in models)})"
    else:
        found = "; this folder holds no .tflite file with its card"
    return f"{model_path} is a folder, not a model file. {expected}{found}."


def _make_interpreter(model_bytes: bytes, model_path: Path, num_threads: int):
    """A LiteRT interpreter built from ``model_bytes`` (``model_path`` only names it in errors)."""
    # Imported here so that importing this module (e.g. for ModelLoadError) stays cheap.
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_content=model_bytes, num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{model_path.name} is not a valid LiteRT model: {exc}") from exc
    return interpreter


def _check_signature(interpreter, model_path: Path, size: int) -> tuple[dict, dict]:
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelLoadError(
            f"{model_path.name} has {len(inputs)} inputs and {len(outputs)} outputs; HemoLens expects 1 and 1."
        )
    shape = tuple(int(v) for v in inputs[0]["shape"])
    if len(shape) != 4 or shape[1:] != (size, size, 3):
        raise ModelLoadError(
            f"{model_path.name} takes input of shape {shape}; the app gives (N, {size}, {size}, 3) "
            f"(the card says {size} px, the contract {IMAGE_SIZE} px)."
        )
    signature = tuple(int(v) for v in inputs[0].get("shape_signature", inputs[0]["shape"]))
    if signature and signature[0] != -1:
        # Batches are fed by resizing the batch dimension, which LiteRT allows only
        # where the model left it open (training.export always does).
        raise ModelLoadError(
            f"{model_path.name} has a fixed batch size of {signature[0]}; export it with a dynamic batch "
            "dimension (training.export does)."
        )
    if np.dtype(inputs[0]["dtype"]) not in (np.dtype(np.float32), np.dtype(np.uint8)):
        raise ModelLoadError(f"{model_path.name} takes {np.dtype(inputs[0]['dtype'])} input; expected float32.")
    out_shape = tuple(int(v) for v in outputs[0]["shape"])
    if len(out_shape) != 2 or out_shape[1] != len(CLASS_NAMES):
        raise ModelLoadError(
            f"{model_path.name} outputs shape {out_shape}; HemoLens expects (N, {len(CLASS_NAMES)}) logits."
        )
    return inputs[0], outputs[0]


def _pick(models: list[Path]) -> Path | None:
    if not models:
        return None
    for model in models:
        if model.stem == DEFAULT_MODEL_NAME:
            return model
    return sorted(models)[0]


def find_default_model() -> Path | None:
    """Find the model to use when none is named.

    Search order: the ``HEMOLENS_MODEL`` environment variable (returned as given,
    so a wrong path fails loudly when loaded); ``models/*.tflite`` inside a
    PyInstaller bundle; ``models/*.tflite`` of the source tree that have a card.
    ``hemolens-lite0`` wins where a folder holds several.
    """
    from_env = os.environ.get(MODEL_ENV_VAR, "").strip()
    if from_env:
        return Path(from_env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found = _pick([Path(p) for p in glob.glob(os.path.join(glob.escape(bundle), "models", "*.tflite"))])
        if found is not None:
            return found
    carded = [p for p in SOURCE_MODELS_DIR.glob("*.tflite") if card_path_for(p).is_file()]
    return _pick(carded)


def load_default_classifier(num_threads: int | None = None) -> Classifier:
    """Load the model :func:`find_default_model` finds.

    Raises:
        ModelLoadError: no model is installed, or the one found cannot be used.
    """
    path = find_default_model()
    from_env = os.environ.get(MODEL_ENV_VAR, "").strip()
    if path is None:
        raise ModelLoadError(
            "No model is installed. Put a model and its card (e.g. models/hemolens-lite0.tflite and "
            f"models/hemolens-lite0.card.json) in {SOURCE_MODELS_DIR}, set {MODEL_ENV_VAR}=/path/to/model.tflite, "
            "or pass --model PATH."
        )
    try:
        return Classifier(path, num_threads=num_threads)
    except ModelLoadError as exc:
        if from_env and path == Path(from_env):  # say where the path came from: it is in no dialog
            raise ModelLoadError(f"{MODEL_ENV_VAR} is set to {from_env}: {exc}") from exc
        raise
