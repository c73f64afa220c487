"""``hemoapp --self-test``: prove that a build can classify, without a display.

The self-test loads the model the app would use (or ``--model``), checks its card
against the app's contract and the model file against the card's sha256, then
classifies the sample images through the real core pipeline (scan → decode →
resize → LiteRT) and checks each result. Samples live in ``<class>/`` folders, so
the expected class of every image is the name of its folder. Where they come
from: ``--samples DIR``; in a PyInstaller bundle ``sys._MEIPASS/samples`` (copied
in by ``build.spec``); in a source checkout ``../shared/datasets/pbc8-originals``.

Two modes, chosen by the model in use and always named in the report:

* ``accuracy`` (the card carries ``metrics``, i.e. a trained release model): the
  predicted class must equal the folder name for at least ``--min-accuracy`` of
  the images (default: all but one of 16), and every probability vector must
  be valid.
* ``plumbing-only`` (the card has no ``metrics``, e.g. the tiny test model):
  accuracy means nothing, so only the plumbing is checked: every image must
  decode and give a valid probability vector. ``--require-accuracy`` turns this
  mode into a failure (a release bundle must not ship a test model).

Exit status: 0 passed, 1 failed (the last line says why), 2 bad arguments.

``hemoapp --startup-probe`` (hidden, for ``benchmarks/``) lives in
:mod:`hemoapp.gui.startup_probe`: this module never imports Qt (an import-linter
contract in pyproject.toml keeps it so).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from hemoapp.core.classifier import Classifier, ModelLoadError, card_path_for, load_default_classifier, sha256_of
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.pipeline import Prediction, iter_predictions
from hemoapp.core.scan import FolderError, scan_folder

#: Default pass mark in accuracy mode: 15 of 16 bundled samples (all but one).
DEFAULT_MIN_ACCURACY = 15 / 16

#: How far a probability vector's sum may stray from 1.
PROBABILITY_SUM_TOLERANCE = 1e-3

MODE_ACCURACY = "accuracy"
MODE_PLUMBING = "plumbing-only"

#: Line the startup probe prints when the main window is shown (then a Unix time).
READY_MARKER = "HEMOLENS_READY"

EXIT_PASSED = 0
EXIT_FAILED = 1

#: The source checkout's shared sample folder (``<repo>/../shared/datasets/pbc8-originals``).
SOURCE_SAMPLES_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "pbc8-originals"


class SelfTestError(Exception):
    """The self-test cannot run at all (no samples, no usable model)."""


@dataclass(frozen=True)
class SampleResult:
    """The outcome for one sample image.

    Attributes:
        relpath: the image relative to the samples folder (``class/file.jpg``).
        expected: the class folder's name.
        predicted: the most probable class, or ``None`` when none was produced.
        confidence: its probability, or ``None``.
        problem: why the image failed the plumbing check, or ``None``.
    """

    relpath: str
    expected: str
    predicted: str | None
    confidence: float | None
    problem: str | None

    @property
    def valid(self) -> bool:
        """True when the image produced a valid probability vector."""
        return self.problem is None

    @property
    def correct(self) -> bool:
        """True when the prediction is valid and names the folder's class."""
        return self.valid and self.predicted == self.expected


@dataclass
class SelfTestReport:
    """Everything the self-test found; :attr:`passed` is the verdict."""

    model_name: str
    model_version: str
    model_sha256: str
    model_path: Path
    mode: str
    samples_dir: Path
    min_accuracy: float
    results: list[SampleResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    load_s: float = 0.0
    classify_s: float = 0.0
    total_s: float = 0.0

    @property
    def n_images(self) -> int:
        """Images classified."""
        return len(self.results)

    @property
    def n_valid(self) -> int:
        """Images with a valid probability vector."""
        return sum(result.valid for result in self.results)

    @property
    def n_correct(self) -> int:
        """Images whose prediction equals their folder's class."""
        return sum(result.correct for result in self.results)

    @property
    def required_correct(self) -> int:
        """Correct images needed to pass in accuracy mode."""
        return required_correct(self.n_images, self.min_accuracy)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.failures


def required_correct(n_images: int, min_accuracy: float) -> int:
    """Smallest number of correct images that reaches ``min_accuracy`` (15 of 16 for 15/16)."""
    return math.ceil(min_accuracy * n_images - 1e-9)


def default_samples_dir() -> Path:
    """The bundle's ``samples/`` when frozen, else the shared dataset beside the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) / "samples" if bundle else SOURCE_SAMPLES_DIR


def probability_problem(probabilities: Sequence[float] | None, n_classes: int = len(CLASS_NAMES)) -> str | None:
    """Why ``probabilities`` is not a valid probability vector, or ``None`` when it is.

    Valid: ``n_classes`` finite values in ``[0, 1]`` that sum to 1 (within
    :data:`PROBABILITY_SUM_TOLERANCE`).
    """
    if probabilities is None:
        return "no probabilities"
    values = np.asarray(probabilities, dtype=np.float64)
    if values.shape != (n_classes,):
        return f"probability vector has shape {values.shape}, expected ({n_classes},)"
    if not np.all(np.isfinite(values)):
        return "probability vector holds NaN or infinity"
    if values.min() < 0.0 or values.max() > 1.0:
        return f"probabilities outside [0, 1] (min {values.min():.4g}, max {values.max():.4g})"
    total = float(values.sum())
    if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
        return f"probabilities sum to {total:.6f}, not 1"
    return None


def judge(prediction: Prediction, expected: str) -> SampleResult:
    """Turn one pipeline prediction into a :class:`SampleResult`."""
    relpath = prediction.record.relpath
    if not prediction.ok:
        problem = f"could not be classified ({prediction.error_kind}: {prediction.error})"
        return SampleResult(relpath, expected, None, None, problem)
    return SampleResult(
        relpath, expected, prediction.predicted, prediction.confidence, probability_problem(prediction.probabilities)
    )


def collect_samples(samples_dir: Path) -> list:
    """The sample images under ``samples_dir``, each in a folder named after its class.

    Returns:
        :class:`~hemoapp.core.scan.ImageRecord` objects in natural order.

    Raises:
        SelfTestError: the folder is missing or empty, or an image is not inside
            a folder named after one of the app's classes.
    """
    try:
        scan = scan_folder(samples_dir)
    except FolderError as exc:
        raise SelfTestError(f"no sample images: {exc}") from exc
    if scan.unreadable:  # a README beside the samples is left out, and is no fault
        listed = "; ".join(f"{rel}: {reason}" for rel, reason in scan.unreadable)
        raise SelfTestError(f"parts of the samples folder {samples_dir} could not be read: {listed}")
    if not scan.records:
        raise SelfTestError(f"the samples folder {samples_dir} holds no images")
    misplaced = [r.relpath for r in scan.records if expected_class(r.relpath) not in CLASS_NAMES]
    if misplaced:
        raise SelfTestError(
            f"{len(misplaced)} sample(s) are not in a folder named after a class "
            f"({', '.join(CLASS_NAMES)}), e.g. {misplaced[0]}"
        )
    return scan.records


def expected_class(relpath: str) -> str:
    """The class a sample must be: the first folder of its relative path ('' at top level)."""
    head, sep, _ = relpath.partition("/")
    return head if sep else ""


def _load(model: Path | None, threads: int | None) -> Classifier:
    try:
        return Classifier(model, num_threads=threads) if model is not None else load_default_classifier(threads)
    except ModelLoadError as exc:
        raise SelfTestError(f"the model cannot be loaded: {exc}") from exc


def _card_failures(classifier: Classifier) -> list[str]:
    """Check the card's claims about the file again, independently of the loader."""
    failures = []
    card = classifier.card
    actual = sha256_of(classifier.model_path)
    if actual != card.sha256.lower():
        failures.append(f"model sha256 {actual} differs from the card's {card.sha256}")
    if card.model_file and card.model_file != classifier.model_path.name:
        failures.append(f"the card describes {card.model_file!r} but sits beside {classifier.model_path.name!r}")
    if list(classifier.class_names) != list(CLASS_NAMES):
        failures.append(f"model classes {list(classifier.class_names)} differ from the app's")
    return failures


def run_self_test(
    model: Path | None = None,
    samples_dir: Path | None = None,
    min_accuracy: float = DEFAULT_MIN_ACCURACY,
    require_accuracy: bool = False,
    threads: int | None = None,
) -> SelfTestReport:
    """Run every check and return the report (it never raises for a failed check).

    Args:
        model: a ``.tflite`` with its card; default: the model the app would load.
        samples_dir: ``<class>/<image>`` folders; default :func:`default_samples_dir`.
        min_accuracy: fraction of images that must be right in accuracy mode.
        require_accuracy: fail instead of running plumbing-only for a card without metrics.
        threads: inference threads (default: all cores).

    Raises:
        SelfTestError: the test cannot run (no samples, no usable model).
    """
    started = time.perf_counter()
    samples_dir = Path(samples_dir) if samples_dir is not None else default_samples_dir()
    records = collect_samples(samples_dir)
    classifier = _load(model, threads)
    loaded = time.perf_counter()
    card = classifier.card
    mode = MODE_ACCURACY if card.metrics else MODE_PLUMBING
    report = SelfTestReport(
        model_name=card.name,
        model_version=card.version,
        model_sha256=classifier.info.sha256,
        model_path=classifier.model_path,
        mode=mode,
        samples_dir=samples_dir,
        min_accuracy=min_accuracy,
        failures=_card_failures(classifier),
        load_s=loaded - started,
    )
    if mode == MODE_PLUMBING and require_accuracy:
        report.failures.append(
            "the model card has no metrics (a test model?) and --require-accuracy was given: "
            "a release build must ship a trained model"
        )
    for batch in iter_predictions(records, classifier, batch_size=16):
        report.results.extend(judge(p, expected_class(p.record.relpath)) for p in batch.predictions)
    report.classify_s = time.perf_counter() - loaded
    if report.n_valid < report.n_images:
        report.failures.append(f"{report.n_images - report.n_valid} image(s) gave no valid probability vector")
    if mode == MODE_ACCURACY and report.n_correct < report.required_correct:
        report.failures.append(
            f"only {report.n_correct} of {report.n_images} images were classified as their folder's class; "
            f"{report.required_correct} needed (min accuracy {min_accuracy:.1%})"
        )
    report.total_s = time.perf_counter() - started
    return report


def format_report(report: SelfTestReport) -> str:
    """The human-readable report: model, mode, one line per image, totals, verdict."""
    lines = [
        "HemoLens self-test",
        f"  model    {report.model_name} {report.model_version}  ({report.model_path})",
        f"  card     {card_path_for(report.model_path).name}: agrees with the app's contract",
        f"  sha256   {report.model_sha256}",
        f"  samples  {report.samples_dir} ({report.n_images} images)",
    ]
    if report.mode == MODE_ACCURACY:
        lines.append(
            f"  mode     accuracy: predicted class must equal the folder name for at least "
            f"{report.required_correct} of {report.n_images} images ({report.min_accuracy:.1%})"
        )
    else:
        lines.append(
            "  mode     PLUMBING-ONLY: the model card has no metrics (a test model), so accuracy is NOT "
            "checked; only that every image gives a valid probability vector"
        )
    for result in report.results:
        if not result.valid:
            status, detail = "BAD ", result.problem
        else:
            detail = f"-> {result.predicted} {result.confidence:.3f}"
            if report.mode == MODE_PLUMBING:
                status = "ok  "
            else:
                status = "OK  " if result.correct else "MISS"
        lines.append(f"  {status} {result.relpath}  {detail}")
    accuracy_text = (
        f"{report.n_correct}/{report.n_images} correct"
        if report.mode == MODE_ACCURACY
        else f"{report.n_correct}/{report.n_images} match their folder (not checked)"
    )
    lines.append(f"  result   {accuracy_text}, {report.n_valid}/{report.n_images} valid probability vectors")
    lines.append(
        f"  time     model load {report.load_s:.2f} s, classify {report.classify_s:.2f} s, total {report.total_s:.2f} s"
    )
    if report.passed:
        lines.append(f"SELF-TEST PASSED ({report.mode})")
    else:
        lines.extend(f"  failed:  {reason}" for reason in report.failures)
        lines.append(f"SELF-TEST FAILED ({report.mode})")
    return "\n".join(lines)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``hemoapp --self-test`` argument parser."""
    parser = argparse.ArgumentParser(prog="hemoapp --self-test", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="a .tflite with its card (default: the app's model)")
    parser.add_argument("--samples", type=Path, default=None, help="folder of <class>/<image> samples")
    parser.add_argument(
        "--min-accuracy",
        type=_fraction,
        default=DEFAULT_MIN_ACCURACY,
        help=f"fraction that must be right in accuracy mode (default {DEFAULT_MIN_ACCURACY:.4f}: 15 of 16)",
    )
    parser.add_argument(
        "--require-accuracy", action="store_true", help="fail when the model card has no metrics (plumbing-only)"
    )
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    parser.add_argument("--report", type=Path, default=None, help="also write the report to this file")
    return parser


def output_stream(stream: TextIO | None) -> TextIO:
    """``stream``, or a stand-in that drops the text where there is none."""
    # A windowed Windows build has no console: sys.stdout is None there.
    if stream is not None:
        return stream
    import io

    return io.StringIO()


def main(argv: Sequence[str] | None = None, stream: TextIO | None = None) -> int:
    """Entry point of ``hemoapp --self-test`` (``argv`` excludes ``--self-test``).

    Returns:
        0 when every check passed, 1 otherwise.
    """
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    out = output_stream(stream if stream is not None else sys.stdout)
    try:
        report = run_self_test(args.model, args.samples, args.min_accuracy, args.require_accuracy, args.threads)
        text = format_report(report)
        status = EXIT_PASSED if report.passed else EXIT_FAILED
    except SelfTestError as exc:
        text = f"HemoLens self-test\n  failed:  {exc}\nSELF-TEST FAILED"
        status = EXIT_FAILED
    out.write(text + "\n")
    out.flush()
    if args.report is not None:
        args.report.write_text(text + "\n", encoding="utf-8")
    return status


def dispatch(args: Sequence[str]) -> int:
    """Run ``--self-test ...`` (``args[0]`` is the flag)."""
    return main(list(args[1:]))
