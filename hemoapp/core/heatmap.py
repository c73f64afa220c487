"""Where the model looked: a class activation map from the heatmap sidecar, in numpy.

The shipped model gives logits only. Its *sidecar* (``models/heatmap/<stem>.tflite``,
written by ``training/sidecar.py``) is the same network cut before global pooling: it
gives the last feature map ``F`` (h x w x C, 4 x 4 x 1280 for Lite0 at 128 px) for the same
input. The head is ``logits = mean(F) @ W + b``, so ``F @ W[:, c]`` is how much each place
of the square pushed class ``c``: the class activation map (Zhou et al., CVPR 2016).

Nothing here runs unless a heatmap is asked for: the batch path never loads the sidecar.
The sidecar's card names the base model's sha256, and a sidecar made for another model is
refused (:class:`SidecarError`, no heatmap then).

The map is drawn over the whole picture through the square the model saw
(:func:`hemoapp.core.imageio.model_square`): :func:`map_onto_image` is the one place that
geometry is applied.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: Bump when the sidecar card's format changes incompatibly.
SIDECAR_SCHEMA_VERSION: int = 1

#: Folder beside the models that holds the sidecars (not ``models/*.tflite``: those are classifiers).
SIDECAR_DIR: str = "heatmap"

#: Default opacity of the heatmap over the picture.
DEFAULT_OPACITY: float = 0.5


class SidecarError(Exception):
    """No heatmap for this model; the message says why."""


def sidecar_paths(model_path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """``(tflite, weights .npz, card .json)`` of the heatmap sidecar of the model at ``model_path``."""
    model_path = Path(model_path)
    folder = model_path.parent / SIDECAR_DIR
    return (folder / f"{model_path.stem}.tflite", folder / f"{model_path.stem}.npz",
            folder / f"{model_path.stem}.json")


def class_activation_map(feature_map: np.ndarray, kernel: np.ndarray, class_index: int) -> np.ndarray:
    """``feature_map (h, w, C) @ kernel[:, class_index]``, scaled to 0..1 (float32 ``(h, w)``).

    The minimum maps to 0 and the maximum to 1; a flat map is all zeros.
    """
    cam = np.asarray(feature_map, dtype=np.float64) @ np.asarray(kernel, dtype=np.float64)[:, class_index]
    cam -= cam.min()
    top = cam.max()
    return (cam / top if top > 0 else cam).astype(np.float32)


def map_onto_image(cam: np.ndarray, image_size: tuple[int, int],
                   square: tuple[float, float, float, float]) -> np.ndarray:
    """A map of the model's square, resampled onto the whole picture: float32 ``(height, width)``.

    ``square`` is the box (left, top, right, bottom, in the picture's pixels) the model saw,
    as :func:`hemoapp.core.imageio.model_square` gives it (it may reach past the edges with
    cell-centred framing). The map is stretched bilinearly over the square; outside it the
    value is 0 (the model did not see there).
    """
    width, height = image_size
    left, top, right, bottom = square
    side_w, side_h = max(1, round(right - left)), max(1, round(bottom - top))
    grid = Image.fromarray(np.asarray(cam, dtype=np.float32), mode="F")
    # Cell centres of the small map sit at the centres of their blocks of the square.
    stretched = np.asarray(grid.resize((side_w, side_h), Image.Resampling.BILINEAR), dtype=np.float32)
    out = np.zeros((height, width), dtype=np.float32)
    x0, y0 = round(left), round(top)
    dst_x0, dst_y0 = max(0, x0), max(0, y0)
    dst_x1, dst_y1 = min(width, x0 + side_w), min(height, y0 + side_h)
    if dst_x1 > dst_x0 and dst_y1 > dst_y0:
        out[dst_y0:dst_y1, dst_x0:dst_x1] = stretched[dst_y0 - y0 : dst_y1 - y0, dst_x0 - x0 : dst_x1 - x0]
    return np.clip(out, 0.0, 1.0)


#: A perceptually ordered colour map (dark blue → cyan → yellow → red), 0..1 anchors.
_ANCHORS = np.array([
    [0.00, 0, 0, 130], [0.25, 0, 110, 255], [0.50, 0, 230, 200], [0.75, 255, 220, 0], [1.00, 220, 20, 0],
], dtype=np.float64)


def colourize(heat: np.ndarray) -> np.ndarray:
    """A 0..1 map → uint8 RGB ``(h, w, 3)`` through the heatmap colour scale."""
    heat = np.clip(np.asarray(heat, dtype=np.float64), 0.0, 1.0)
    channels = [np.interp(heat, _ANCHORS[:, 0], _ANCHORS[:, i]) for i in (1, 2, 3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def overlay(image: Image.Image, heat: np.ndarray, opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """``image`` with ``heat`` (its size, 0..1) drawn over it: the hotter a place, the more colour (0: the picture)."""
    if heat.shape != (image.height, image.width):
        raise ValueError(f"heatmap {heat.shape} does not match the image {(image.height, image.width)}")
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    alpha = (float(np.clip(opacity, 0.0, 1.0)) * heat)[..., None]
    blended = rgb * (1.0 - alpha) + colourize(heat).astype(np.float32) * alpha
    return Image.fromarray(np.rint(blended).astype(np.uint8), mode="RGB")


@dataclass(frozen=True)
class Explanation:
    """A heatmap of one picture.

    Attributes:
        heat: float32 ``(height, width)`` in 0..1 over the whole picture (0 outside the square).
        class_name: the class it shows.
        square: the box the model saw (picture pixels).
        cam: the map in the model's square, ``(h, w)`` at the feature map's size.
    """

    heat: np.ndarray
    class_name: str
    square: tuple[float, float, float, float]
    cam: np.ndarray


class Sidecar:
    """A checked heatmap sidecar: the feature-map model (loaded on first use) and the head's weights.

    Raises (from the constructor):
        SidecarError: missing files, a card that is not for ``base_sha256``'s model, or
            files that do not match their card.
    """

    def __init__(self, model_path: str | os.PathLike[str], base_sha256: str, num_threads: int = 1) -> None:
        tflite, weights, card_path = sidecar_paths(model_path)
        self.path = tflite
        if not card_path.is_file():
            raise SidecarError(f"This model has no heatmap sidecar ({card_path.parent.name}/{card_path.name}).")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            base = card["base_model"]
            expected_sha, weights_sha = str(card["sha256"]).lower(), str(card["weights_sha256"]).lower()
            base_sha = str(base["sha256"]).lower()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SidecarError(f"The heatmap sidecar's card {card_path.name} cannot be read: {exc}") from exc
        if base_sha != base_sha256.lower():
            raise SidecarError(
                f"The heatmap sidecar was made for another model ({base.get('name', '?')} {base.get('version', '')}, "
                f"sha256 {base_sha[:12]}…), not the loaded one ({base_sha256[:12]}…): no heatmap. "
                "Export the sidecar again with the model (python -m training export)."
            )
        self.card = card
        try:
            self._model_bytes = tflite.read_bytes()
            weight_bytes = weights.read_bytes()
        except OSError as exc:
            raise SidecarError(f"The heatmap sidecar cannot be read: {exc.strerror or exc}") from exc
        if hashlib.sha256(self._model_bytes).hexdigest() != expected_sha:
            raise SidecarError(f"The heatmap sidecar {tflite.name} does not match its card (sha256): no heatmap.")
        if hashlib.sha256(weight_bytes).hexdigest() != weights_sha:
            raise SidecarError(f"The heatmap weights {weights.name} do not match their card (sha256): no heatmap.")
        with np.load(io.BytesIO(weight_bytes)) as data:  # the bytes just checked, not a second read
            self.kernel = np.asarray(data["kernel"], dtype=np.float32)
            self.bias = np.asarray(data["bias"], dtype=np.float32)
        self.num_threads = num_threads
        self._interpreter = None
        self._lock = threading.Lock()

    def feature_map(self, model_input: np.ndarray) -> np.ndarray:
        """The last feature map ``(h, w, C)`` float32 of one uint8 model input ``(S, S, 3)``."""
        with self._lock:
            if self._interpreter is None:
                from ai_edge_litert.interpreter import Interpreter

                try:
                    self._interpreter = Interpreter(model_content=self._model_bytes, num_threads=self.num_threads)
                    self._interpreter.allocate_tensors()
                except (ValueError, RuntimeError) as exc:
                    raise SidecarError(f"The heatmap sidecar is not a valid LiteRT model: {exc}") from exc
            interpreter = self._interpreter
            details = interpreter.get_input_details()[0]
            interpreter.set_tensor(details["index"], np.asarray(model_input)[None].astype(details["dtype"]))
            interpreter.invoke()
            return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0],
                            dtype=np.float32)


def explain(image: Image.Image, class_index: int, class_name: str, framing: str,
            feature_map_of, kernel: np.ndarray, size: int) -> Explanation:
    """The heatmap of ``class_index`` for ``image`` (RGB), over the whole picture.

    ``feature_map_of`` maps a uint8 model input to its feature map (a :class:`Sidecar`'s
    :meth:`~Sidecar.feature_map`, or a test's synthetic one).
    """
    from hemoapp.core.imageio import frame_input, model_square

    square = model_square(image, framing)
    cam = class_activation_map(feature_map_of(frame_input(image, size, framing)), kernel, class_index)
    return Explanation(map_onto_image(cam, image.size, square), class_name, square, cam)


def explain_image(image: Image.Image, classifier, sidecar: Sidecar, class_name: str | None = None) -> Explanation:
    """The heatmap of ``class_name`` (default: the class ``classifier`` predicts) for a decoded picture.

    ``classifier`` is a :class:`~hemoapp.core.classifier.Classifier` (its framing, input size,
    class names and logits); the same square is fed to the sidecar and mapped back.
    """
    from hemoapp.core.imageio import frame_input

    names = tuple(classifier.class_names)
    if class_name is None:
        logits = classifier.predict_logits(frame_input(image, classifier.input_size, classifier.framing)[None])[0]
        index = int(np.argmax(logits))
    elif class_name in names:
        index = names.index(class_name)
    else:
        raise ValueError(f"unknown class {class_name!r}; expected one of {', '.join(names)}")
    return explain(image, index, names[index], classifier.framing, sidecar.feature_map, sidecar.kernel,
                   classifier.input_size)


def explain_for_card(image: Image.Image, class_name: str, sidecar: Sidecar, card) -> Explanation:
    """The heatmap of ``class_name`` for a decoded picture, framed as ``card`` (a ``ModelCard``) says.

    For a caller that has the model's card but not its classifier (the report, from the
    predictions' :class:`~hemoapp.core.classifier.ModelInfo`): the class is given, so no
    logits are needed.
    """
    from hemoapp.core.contract import card_framing

    names = tuple(card.classes)
    if class_name not in names:
        raise ValueError(f"unknown class {class_name!r}; expected one of {', '.join(names)}")
    index = names.index(class_name)
    return explain(image, index, class_name, card_framing(card), sidecar.feature_map, sidecar.kernel,
                   card.input_size)


class HeatmapSource:
    """Heatmaps of files for the window: the sidecar is loaded on the first request, never before.

    ``classifier`` is the loaded :class:`~hemoapp.core.classifier.Classifier` (anything without
    a model path and sha256 gets no heatmaps). :meth:`heat_for` raises :class:`SidecarError`
    (no usable sidecar: the message says why) or ``ImageReadError`` (the file).
    """

    def __init__(self, classifier) -> None:
        self._classifier = classifier
        self._sidecar: Sidecar | None = None
        self._error: str | None = None
        # The last heatmap: the opacity slider redraws the same cell, and must not decode it and run the sidecar again.
        self._last: tuple[tuple, tuple[Image.Image, Explanation]] | None = None

    def heat_for(self, path, class_name: str | None, expected_sha256: str | None = None) -> tuple[Image.Image, Explanation]:
        """The picture at ``path`` (full size) and its :class:`Explanation` for ``class_name``."""
        from hemoapp.core.imageio import load_display_image

        if self._sidecar is None:
            if self._error is None:
                info = getattr(self._classifier, "info", None)
                if info is None:
                    self._error = "This model has no heatmap sidecar."
                else:
                    try:
                        self._sidecar = Sidecar(self._classifier.model_path, info.sha256)
                    except SidecarError as exc:
                        self._error = str(exc)
            if self._sidecar is None:
                raise SidecarError(self._error)
        key = (str(path), class_name, expected_sha256)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        image, _ = load_display_image(path, expected_sha256=expected_sha256)
        result = (image, explain_image(image, self._classifier, self._sidecar, class_name))
        self._last = (key, result)
        return result
