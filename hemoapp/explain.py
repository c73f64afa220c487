"""``hemoapp explain IMAGE --out PNG``: where the model looked, over the whole picture, headless.

Writes the picture at its own size with the class activation map of the predicted class
(or ``--class``) drawn over the square the model saw (:mod:`hemoapp.core.heatmap`), and
prints the class, its confidence and whether the cell is assessable
(:mod:`hemoapp.core.assessability`). Exit status 0, or 2 when there is no heatmap (no
sidecar, or one made for another model), the picture cannot be read, or the PNG cannot be
written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

import numpy as np

from hemoapp.cli import FatalError, load_classifier, positive_int, run_command
from hemoapp.core.assessability import assess_input
from hemoapp.core.atomic_write import atomic_path
from hemoapp.core.classifier import softmax
from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.heatmap import DEFAULT_OPACITY, Sidecar, SidecarError, explain_image, overlay
from hemoapp.core.imageio import ImageReadError, frame_input, open_image, read_bytes
from hemoapp.core.output_guard import OutputIsInputError, check_not_input
from hemoapp.core.summary import confidence_percent


def build_parser() -> argparse.ArgumentParser:
    """The ``hemoapp explain`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hemoapp explain",
        description="Draw where the model looked (a class activation map) over one cell's picture, as a PNG.",
    )
    parser.add_argument("image", type=Path, help="the cell's picture")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write (the picture's size)")
    parser.add_argument("--class", dest="class_name", choices=CLASS_NAMES, default=None,
                        help="the class to show (default: the predicted one)")
    parser.add_argument("--opacity", type=float, default=DEFAULT_OPACITY, help="0 to 1 (default %(default)s)")
    parser.add_argument("--model", type=Path, default=None, help="a .tflite model with its .card.json beside it")
    parser.add_argument("--threads", type=positive_int, default=None, help="inference threads (default: all cores)")
    return parser


def save_png(image, out: Path) -> None:
    """Write ``image`` as PNG through HemoLens's one atomic write (whole and on the disk, or not at all)."""
    with atomic_path(out) as temporary:
        image.save(temporary, format="PNG")


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    out = Path(os.path.abspath(args.out))
    if out.suffix.lower() != ".png":
        raise FatalError(f"--out must name a .png file, not {out.name}")
    try:
        check_not_input(out, [args.image], "--out")
    except OutputIsInputError as exc:
        raise FatalError(str(exc)) from exc
    if not out.parent.is_dir():
        raise FatalError(f"the folder of --out does not exist: {out.parent}")
    if not 0.0 <= args.opacity <= 1.0:
        raise FatalError(f"--opacity must be between 0 and 1, not {args.opacity}")
    classifier = load_classifier(args.model, args.threads, stderr)
    try:
        sidecar = Sidecar(classifier.model_path, classifier.info.sha256)
    except SidecarError as exc:
        raise FatalError(str(exc)) from exc
    try:
        image, _ = open_image(read_bytes(args.image))
        model_input = frame_input(image, classifier.input_size, classifier.framing)
    except ImageReadError as exc:
        raise FatalError(f"{args.image}: {exc.message}") from exc
    logits = classifier.predict_logits(model_input[None])[0]
    probabilities = softmax(logits[None], classifier.temperature)[0]
    predicted = classifier.class_names[int(np.argmax(probabilities))]
    explanation = explain_image(image, classifier, sidecar, args.class_name or predicted)
    try:
        save_png(overlay(image, explanation.heat, args.opacity), out)
    except OSError as exc:
        raise FatalError(f"cannot write {out}: {exc.strerror or exc}") from exc
    verdict = assess_input(model_input, logits, classifier.card.assessability)
    index = classifier.class_names.index(explanation.class_name)
    stdout.write(
        f"Predicted: {display_name(predicted)} ({confidence_percent(float(probabilities.max()))})\n"
        f"Heatmap of: {display_name(explanation.class_name)} ({confidence_percent(float(probabilities[index]))})\n"
        f"Assessable: {'yes' if verdict.assessable else 'no, ' + verdict.reason}\n"
        f"Written: {out} ({image.width} x {image.height})\n"
    )
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``hemoapp explain`` (``argv`` excludes the word ``explain``)."""
    return run_command(build_parser(), run, argv, stdout, stderr)
