"""``hemoapp classify``: headless batch classification with the same core as the app.

Exit status: 0 when the batch ran to the end (unreadable files are rows in the
CSV with their error), 2 for a fatal problem (no usable model, a folder that
cannot be read, a ``--report`` PDF that cannot be written after the CSV was, a
results file that cannot be written: then the results go to a
``NAME-unsaved-TIME.csv`` in the temporary folder and the summary is printed
anyway), 130 when interrupted (what was classified is written to
``NAME.partial.csv`` beside the output).
Progress goes to stderr (a bar on a terminal, plain lines otherwise); the
summary goes to stdout.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hemoapp.core.agreement import Agreement, compare
from hemoapp.core.classifier import Classifier, ModelLoadError, load_default_classifier
from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES, display_name
from hemoapp.core.export import write_predictions_csv
from hemoapp.core.lab_profile import ProfileError, is_profile_path, open_profile_classifier
from hemoapp.core.output_guard import OutputIsInputError, check_not_input
from hemoapp.core.pipeline import Prediction, iter_predictions
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import FolderError, ScanResult, absolute_path, display_text, records_from_paths, scan_folder
from hemoapp.core.summary import SHARE_BASE, Summary, confidence_percent, interval_text, not_assessable_text, summarize
from hemoapp.core.unsure_share import UnsureShare, unsure_share

#: Results file name used when ``--out`` is not given (in the current directory,
#: never inside the user's export folder).
DEFAULT_OUT_NAME = "hemolens_results.csv"

EXIT_OK = 0
EXIT_FATAL = 2
EXIT_INTERRUPTED = 130


class FatalError(Exception):
    """A problem that stops the command (exit status 2)."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``hemoapp classify`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hemoapp classify",
        description="Classify every blood-cell image in a folder (recursively) and write a CSV.",
    )
    parser.add_argument("folder", help="folder of images (or a single image file)")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"results CSV (default: ./{DEFAULT_OUT_NAME} in the current folder)"
    )
    add_report_arguments(
        parser, "also write the batch report PDF: counts, differential, and every flagged cell with its picture"
    )
    add_model_arguments(parser)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--batch-size`` and ``--threads``, as ``classify`` and ``validate`` share them."""
    parser.add_argument("--model", type=Path, default=None,
                        help="a .tflite model with its .card.json beside it, or a lab profile (.hlprofile.json)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    parser.add_argument("--threads", type=positive_int, default=None, help="inference threads (default: all cores)")


def add_report_arguments(parser: argparse.ArgumentParser, report_help: str) -> None:
    """Add ``--report``, ``--sample-id`` and ``--comment``, as ``classify`` and ``validate`` share them."""
    parser.add_argument("--report", type=Path, default=None, help=report_help)
    parser.add_argument(
        "--sample-id", default="", metavar="ID",
        help="the specimen's ID, written into every CSV row and at the top of the report (one line, 64 characters)",
    )
    parser.add_argument(
        "--comment", default="", metavar="TEXT", help="a comment on the sample, printed in the report (500 characters)"
    )


class Progress:
    """Progress on a stream: a redrawn bar on a terminal, a line per 10% otherwise."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def update(self, done: int, total: int, elapsed_s: float) -> None:
        """Show that ``done`` of ``total`` files are finished."""
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        fraction = done / total if total else 1.0
        if self.interactive:
            filled = int(self.width * fraction)
            remaining = (total - done) / rate if rate > 0 else 0.0
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(
                f"\r[{bar}] {fraction:4.0%} {done}/{total}  {rate:6.1f} img/s  ETA {_duration(remaining)} "
            )
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(f"classified {done}/{total} ({fraction:.0%}), {rate:.1f} images/s\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def load_classifier(model: Path | None, threads: int | None, stderr: TextIO) -> Classifier:
    """The classifier of ``--model`` (else the default model), named on ``stderr``; :class:`FatalError` if none."""
    try:
        if model is not None and is_profile_path(model):  # a lab profile on the installed model
            classifier = open_profile_classifier(model, threads)
        elif model is not None:
            classifier = Classifier(model, num_threads=threads)
        else:
            classifier = load_default_classifier(num_threads=threads)
    except (ModelLoadError, ProfileError) as exc:
        raise FatalError(str(exc)) from exc
    info = classifier.info
    stderr.write(f"Model: {info.name} {info.version} (sha256 {info.sha256[:12]}), {classifier.num_threads} threads\n")
    return classifier


def scan_target(target: str, stderr: TextIO) -> ScanResult:
    """Scan a folder (or take one image file), warning on ``stderr`` of what was skipped or empty."""
    scan = _scan(target)
    for relpath, reason in scan.skipped:
        stderr.write(f"warning: skipped {relpath or '.'}: {reason}\n")
    if not scan.records:
        stderr.write(f"warning: no images found in {display_text(target)}\n")
    return scan


def _scan(target: str) -> ScanResult:
    if os.path.isfile(target):
        scan = records_from_paths([target])
        if not scan.records:
            reason = scan.skipped[0][1] if scan.skipped else "not an image"
            raise FatalError(f"{display_text(target)}: {reason}.")
        return scan
    try:
        return scan_folder(target)
    except FolderError as exc:
        raise FatalError(str(exc)) from exc


def resolve_out(out: Path | None, option: str = "--out") -> Path:
    """The absolute path ``option`` names (default ``./hemolens_results.csv``), checked writable before the run."""
    path = (out if out is not None else Path.cwd() / DEFAULT_OUT_NAME).expanduser()
    path = absolute_path(path.parent) / path.name  # "../out.csv" is named without its ".."
    # Checked before the run, so an hour of classification is not lost to a typo.
    if path.is_dir():
        raise FatalError(f"{path} is a folder; {option} needs a file name.")
    if not path.parent.is_dir():
        raise FatalError(f"cannot write {path}: the folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise FatalError(f"cannot write {path}: permission denied for {path.parent}.")
    return path


def refuse_outputs_over_inputs(scan: ScanResult, outputs: list[tuple[str, Path | None]]) -> None:
    """Raise :class:`FatalError` when an output names one of the scanned input files (before any is classified).

    Args:
        outputs: ``(option, path)`` pairs, e.g. ``("--out", out)``; a ``None`` path is not given.
    """
    inputs = [record.path for record in scan.records]
    for option, path in outputs:
        if path is None:
            continue
        try:
            check_not_input(path, inputs, option)
        except OutputIsInputError as exc:
            raise FatalError(str(exc)) from exc


def warn_if_unusual(share: UnsureShare | None, stderr: TextIO) -> None:
    """Warn on ``stderr`` when the batch is unlike the model's validation images (as the report does)."""
    warning = share.warning() if share is not None else None
    if warning:
        stderr.write(f"warning: {warning}\n")


def format_summary(summary: Summary) -> str:
    """The end-of-run report: counts per class (their % of the counted cells) and the white-cell differential."""
    lines = [f"{'Class':<22}{'Count':>7}{'%':>8}  (% of {SHARE_BASE})"]
    for name in CLASS_NAMES:
        count = summary.counts.get(name, 0)
        lines.append(f"{display_name(name):<22}{count:>7}{summary.percentages.get(name, 0.0):>8.1f}")
    lines.append(f"{'Total classified':<22}{summary.classified:>7}")
    lines.append(f"{'Counted (base of %)':<22}{summary.counted:>7}")
    if summary.not_assessable:
        lines.append(f"{not_assessable_text(summary)} (assessable column of the CSV)")
    if summary.white_cells:
        lines.append(f"White-cell differential ({summary.white_cells} white cells; 95% interval from counting alone):")
        for name in WHITE_CELL_CLASSES:
            interval = interval_text(summary.differential_interval(name))
            lines.append(f"  {display_name(name):<20}{summary.differential[name]:>7.1f}%   {interval}%")
        lines.append(
            f"Erythroblasts per 100 white cells: {summary.erythroblasts_per_100_wbc:.1f} "
            f"(95% interval {interval_text(summary.erythroblast_interval())})"
        )
    else:
        lines.append("White-cell differential: no white cells found.")
    lines.append(f"Platelets (counted apart): {summary.platelets}")
    return "\n".join(lines)


class StopOnSignals:
    """While active, Ctrl+C (SIGINT) and SIGTERM ask the batch to stop instead of killing it.

    The first signal sets ``cancel``: the pipeline stops at its next check (within
    a batch) and the CLI writes what it classified. A second Ctrl+C interrupts at
    once, as usual. Outside the main thread signals cannot be handled; then this
    does nothing and Ctrl+C arrives as :class:`KeyboardInterrupt`.

    Attributes:
        received: the name of the signal that asked to stop, or ``None``.
    """

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._on_signal)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _on_signal(self, number: int, frame) -> None:
        if self.received is not None and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(number).name
        self.cancel.set()


def partial_results_path(out: Path) -> Path:
    """Where an interrupted batch's results go: ``results.csv`` → ``results.partial.csv``."""
    return out.with_name(f"{out.stem}.partial{out.suffix or '.csv'}")


def rescue_path(out: Path, started_at: _dt.datetime) -> Path:
    """Where results go when ``out`` cannot be written: the system's temporary folder.

    Often another file system than the export (e.g. a full network share or USB
    stick), and named after the batch's start so it never replaces an earlier copy.
    """
    stamp = started_at.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(tempfile.gettempdir()) / f"{out.stem}-unsaved-{stamp}{out.suffix or '.csv'}"


def save_results(
    path: Path, predictions: list[Prediction], info, started_at: _dt.datetime, sample: SampleDetails, stderr: TextIO
) -> bool:
    """Write the results CSV to ``path``, or to :func:`rescue_path` if that fails.

    An hour of classification must not be lost to a full disk at the last step.

    Returns:
        True when ``path`` was written; False otherwise, after saying on ``stderr``
        where the rescue copy went, or that none could be written.
    """
    try:
        write_predictions_csv(path, predictions, info, created=started_at, sample=sample)
        return True
    except OSError as exc:
        stderr.write(f"hemoapp: error: cannot write {path}: {exc.strerror or exc}\n")
    rescue = rescue_path(path, started_at)
    try:
        write_predictions_csv(rescue, predictions, info, created=started_at, sample=sample)
    except OSError as exc:
        stderr.write(
            f"hemoapp: error: the results could not be saved anywhere (also not {rescue}: {exc.strerror or exc}); "
            "the counts below are all that is left of this batch.\n"
        )
        return False
    stderr.write(f"hemoapp: the results were saved to {rescue} instead; move them somewhere safe.\n")
    return False


def save_report(path: Path, summary: Summary, info, predictions: list[Prediction], scan: ScanResult,
                source: str, started_at: _dt.datetime, share: UnsureShare | None, sample: SampleDetails,
                agreement: Agreement, stderr: TextIO) -> bool:
    """Write the batch report PDF (as the app's File > Export Report PDF does); False after saying why not.

    As in the window, cells in class folders add ``agreement``, the comparison with those classes.
    """
    # Qt only when a report is asked for: the CSV path stays free of it. Offscreen, as a
    # command never shows a window and may run where there is no display.
    # A QApplication (not just a QGuiApplication): it is the one application of the process,
    # and a caller that goes on to show widgets (the test suite does) needs that kind.
    from PySide6.QtWidgets import QApplication

    from hemoapp.core.report import batch_context
    from hemoapp.gui.report_pdf import write_summary_report

    if QApplication.instance() is None:
        QApplication(["hemoapp", "-platform", "offscreen"])  # PySide keeps it for the process's life
    context = batch_context(source, scan, "completed", started_at, share, sample)
    try:
        write_summary_report(path, summary, info, context, predictions, agreement=agreement)
    except OSError as exc:
        kept = f"; {path.name} was left as it was" if path.exists() else ""
        stderr.write(f"hemoapp: error: cannot write the report {path}: {exc.strerror or exc}{kept}\n")
        return False
    return True


@dataclass
class BatchRun:
    """What one run of the batch loop produced.

    Attributes:
        predictions: the files classified, in scan order (all of them unless interrupted).
        started_at: when the batch started (UTC), written as ``classified_at``.
        elapsed_s: seconds the batch took.
        interrupted: True when Ctrl+C or SIGTERM stopped it early.
    """

    predictions: list[Prediction]
    started_at: _dt.datetime
    elapsed_s: float
    interrupted: bool


def classify_scan(scan: ScanResult, classifier: Classifier, batch_size: int, stderr: TextIO) -> BatchRun:
    """Classify every record of ``scan`` with progress on ``stderr``; Ctrl+C or SIGTERM stop it cleanly."""
    predictions: list[Prediction] = []
    cancel = threading.Event()
    progress = Progress(stderr)
    started_at = _dt.datetime.now(_dt.timezone.utc)
    started = time.perf_counter()
    batches = iter_predictions(scan.records, classifier, batch_size=batch_size, cancel=cancel)
    interrupted = False
    try:
        with StopOnSignals(cancel) as stop:
            for batch in batches:
                predictions.extend(batch.predictions)
                progress.update(batch.done, batch.total, batch.elapsed_s)
        interrupted = stop.received is not None
    except KeyboardInterrupt:  # a second Ctrl+C, or no handler could be installed
        cancel.set()
        batches.close()
        interrupted = True
    progress.close()
    return BatchRun(predictions, started_at, time.perf_counter() - started, interrupted)


def keep_interrupted(out: Path, batch: BatchRun, info, sample: SampleDetails, total: int, unwritten: str,
                     stderr: TextIO) -> int:
    """Save an interrupted batch's results beside ``out`` and say so; return the exit status.

    Args:
        unwritten: what the command will not write now, e.g. "no report", or "".
    """
    # Keep what was classified, but beside the requested file: a partial batch
    # must neither replace an earlier complete CSV nor pass for a complete one.
    partial = partial_results_path(out)
    done = len(batch.predictions)
    if not save_results(partial, batch.predictions, info, batch.started_at, sample, stderr):
        stderr.write(f"Interrupted after {done} of {total} images.\n")
        return EXIT_FATAL
    stderr.write(
        f"Interrupted after {done} of {total} images; the results so far are in {partial} (incomplete batch)"
        + (f"; {unwritten} was written.\n" if unwritten else ".\n")
    )
    return EXIT_INTERRUPTED


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``classify`` with parsed arguments; fatal problems raise :class:`FatalError`."""
    out = resolve_out(args.out)
    report = resolve_out(args.report, "--report") if args.report is not None else None
    if report is not None and report == out:
        raise FatalError(f"--report and --out are the same file ({out}).")
    sample = SampleDetails(args.sample_id, args.comment)  # cleaned as the app's dialog cleans them
    classifier = load_classifier(args.model, args.threads, stderr)
    info = classifier.info
    scan = scan_target(args.folder, stderr)
    refuse_outputs_over_inputs(scan, [("--out", out), ("--out", partial_results_path(out)), ("--report", report)])
    total = len(scan.records)

    batch = classify_scan(scan, classifier, args.batch_size, stderr)
    if batch.interrupted:
        return keep_interrupted(out, batch, info, sample, total, "no report" if report is not None else "", stderr)
    predictions, started_at, elapsed = batch.predictions, batch.started_at, batch.elapsed_s

    saved = save_results(out, predictions, info, started_at, sample, stderr)

    summary = summarize(predictions, info.card.review_threshold)
    rate = summary.total / elapsed if elapsed > 0 else 0.0
    if sample.sample_id:
        stdout.write(f"Sample ID: {sample.sample_id}\n")
    stdout.write(
        f"Classified {summary.classified} of {summary.total} images in {elapsed:.1f} s ({rate:.1f} images/s).\n"
    )
    if summary.errors:
        stdout.write(f"{summary.errors} file(s) could not be read; see the error column of the CSV.\n")
    stdout.write(
        f"{summary.flagged} flagged for review (confidence below {confidence_percent(summary.review_threshold)}).\n\n"
    )
    stdout.write(format_summary(summary) + "\n\n")
    share = unsure_share(predictions, info.card)
    warn_if_unusual(share, stderr)
    if not saved:
        # The summary is printed anyway: it may be all that is left of the batch.
        stdout.write(f"Results NOT written to {out} (see the error above).\n")
        return EXIT_FATAL
    stdout.write(f"Results written to {out}\n")
    if report is not None:
        source = str(absolute_path(Path(args.folder).expanduser()))
        agreement = compare(predictions, summary.review_threshold, reference_class)
        if not save_report(report, summary, info, predictions, scan, source, started_at, share, sample, agreement,
                           stderr):
            return EXIT_FATAL
        stdout.write(f"Report written to {report}\n")
    return EXIT_OK


def run_command(parser: argparse.ArgumentParser, command, argv: list[str] | None,
                stdout: TextIO | None, stderr: TextIO | None) -> int:
    """Parse ``argv`` with ``parser`` and run ``command(args, stdout, stderr)``; a :class:`FatalError` exits 2.

    Shared by the headless commands (``classify``, ``validate``), so they fail alike.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = parser.parse_args(argv)
    try:
        return command(args, stdout, stderr)
    except FatalError as exc:
        stderr.write(f"hemoapp: error: {exc}\n")
        return EXIT_FATAL


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``hemoapp classify`` (``argv`` excludes the word ``classify``).

    Returns:
        The exit status.
    """
    return run_command(build_parser(), run, argv, stdout, stderr)
