"""``hemoapp validate``: check HemoLens against cells a lab has already classified.

The README says to validate HemoLens locally before relying on it; this is the tool
for it. The lab puts cells its staff classified into a folder per class
(``neutrophil/``, ``Lymphocytes/``, ``NRBC/``…: :mod:`hemoapp.core.reference_labels`),
and the command classifies them as ``hemoapp classify`` does, writes the same
results CSV, and compares: overall agreement and Cohen's kappa, each class's
sensitivity and positive predictive value with exact 95% intervals, the confusion
matrix, every disagreement with its file, and how many disagreements the review
flag would have caught (:mod:`hemoapp.core.agreement`), over the cells the model can
judge: the not-assessable ones (:mod:`hemoapp.core.assessability`) are counted apart, per
folder class, as the differential leaves them out. All of it goes to the
agreement CSV as well (:mod:`hemoapp.core.agreement_export`). With ``--report`` it
also writes the batch report PDF with the comparison and a picture of every
disagreeing cell (:mod:`hemoapp.core.report_agreement`): the record a lab files.

Exit status as for ``classify``: 0 when the comparison ran, 2 for a fatal problem
(including a folder where no sub-folder names a class), 130 when interrupted (the
results so far go to ``NAME.partial.csv``; no agreement or report is written for a partial set).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from hemoapp.cli import (
    EXIT_FATAL,
    EXIT_OK,
    FatalError,
    add_model_arguments,
    add_report_arguments,
    classify_scan,
    keep_interrupted,
    load_classifier,
    partial_results_path,
    refuse_outputs_over_inputs,
    resolve_out,
    run_command,
    save_report,
    save_results,
    scan_target,
    warn_if_unusual,
)
from hemoapp.core.agreement import Agreement, compare
from hemoapp.core.agreement_export import write_agreement_csv
from hemoapp.core.contract import CLASS_NAMES, SHORT_NAMES, display_name
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report_agreement import not_assessable_note
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import absolute_path
from hemoapp.core.summary import confidence_percent, fraction_interval_bounds_text, summarize
from hemoapp.core.unsure_share import unsure_share

DEFAULT_RESULTS_NAME = "hemolens_validation_results.csv"
DEFAULT_AGREEMENT_NAME = "hemolens_agreement.csv"

#: Disagreements printed on the terminal; the agreement CSV has them all.
PRINTED_DISAGREEMENTS = 50


def build_parser() -> argparse.ArgumentParser:
    """The ``hemoapp validate`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hemoapp validate",
        description=(
            "Compare HemoLens with cells your lab has already classified: put them in a folder per class "
            "(e.g. neutrophil/, lymphocyte/, NRBC/, metamyelocyte/) and give the folder above those."
        ),
    )
    parser.add_argument("folder", help="folder whose sub-folders are named by class")
    parser.add_argument(
        "--out", type=Path, default=None,
        help=f"results CSV, as hemoapp classify writes it (default: ./{DEFAULT_RESULTS_NAME})",
    )
    parser.add_argument(
        "--agreement", type=Path, default=None,
        help=(f"agreement CSV: the figures, the confusion matrix and every disagreement "
              f"(default: ./{DEFAULT_AGREEMENT_NAME})"),
    )
    add_report_arguments(
        parser,
        "also write the report PDF a lab files: the batch report with the agreement, the confusion matrix and "
        "every disagreeing cell with its picture",
    )
    add_model_arguments(parser)
    return parser


def _interval(interval: tuple[float, float] | None) -> str:
    """A 95% interval of a fraction, in percent to the shares' 2 places, rounded outwards."""
    low, high = fraction_interval_bounds_text(interval)
    return f"{low}–{high}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.2f}%"


def format_agreement(agreement: Agreement) -> str:
    """The comparison as a terminal shows it: the figures, a table per class, the confusion matrix.

    Over the assessable cells, as the window and the report: the not-assessable cells in class
    folders are counted apart (how many, and per folder class), never in the agreement.
    """
    n = agreement.compared
    kappa = agreement.kappa
    disagreements = len(agreement.disagreements)
    cells = "assessable cells" if agreement.not_assessable else "cells"
    lines = [
        f"Agreement with the folders' classes: {_share(agreement.overall)} ({agreement.agreed} of {n} {cells}; "
        f"95% interval {_interval(agreement.overall_interval)}%), Cohen's kappa "
        + ("–" if kappa is None else f"{kappa:.4f}"),
        f"Flagged for review (confidence below {confidence_percent(agreement.review_threshold)}): "
        f"{agreement.flagged} of {n}; "
        + (f"{agreement.flagged_disagreements} of the {disagreements} disagreements are among them."
           if disagreements else "no cell disagrees."),
        (
            f"Not flagged: {agreement.unflagged} cells, {agreement.unflagged_disagreements} of them disagree "
            f"(agreement {_share(agreement.unflagged_agreement)}, "
            f"95% interval {_interval(agreement.unflagged_interval)}%)."
            if agreement.unflagged else "Not flagged: none; every cell is flagged for review."
        ),
    ]
    if agreement.not_assessable:
        lines.append(f"Not assessable: {not_assessable_note(agreement)}.")
    apart = agreement.not_assessable > 0
    lines += [
        "",
        f"{'Class (reference)':<22}{'Cells':>7}" + (f"{'N/A':>5}" if apart else "")
        + f"{'HemoLens':>10}  {'Sensitivity (95% interval)':<32}Positive predictive value (95% interval)",
    ]
    for row in agreement.classes:
        sensitivity = f"{_share(row.sensitivity)} ({_interval(row.sensitivity_interval)})" if row.reference else "–"
        ppv = f"{_share(row.ppv)} ({_interval(row.ppv_interval)})" if row.predicted else "–"
        left_out = f"{row.not_assessable:>5}" if apart else ""
        lines.append(f"{display_name(row.name):<22}{row.reference:>7}{left_out}{row.predicted:>10}  "
                     f"{sensitivity:<32}{ppv}")
    if apart:
        lines.append("(Cells: compared; N/A: not assessable, left out.)")
    lines += ["", "Confusion matrix (rows: the folders' class, columns: HemoLens):"]
    lines.append(" " * 22 + "".join(f"{SHORT_NAMES[name]:>6}" for name in CLASS_NAMES))
    for name, counts in zip(CLASS_NAMES, agreement.matrix):
        lines.append(f"{display_name(name):<22}" + "".join(f"{count:>6}" for count in counts))
    if agreement.disagreements:
        shown = agreement.disagreements[:PRINTED_DISAGREEMENTS]
        more = ""
        if len(shown) < disagreements:
            more = f" (the first {len(shown)}; the agreement CSV lists all {disagreements})"
        lines += ["", f"Disagreements{more}:"]
        for cell in shown:
            lines.append(
                f"  {cell.relpath}: {display_name(cell.reference)} in the folder, HemoLens "
                f"{display_name(cell.predicted)} ({confidence_percent(cell.confidence)}, "
                + ("flagged)" if cell.flagged else "NOT flagged)")
            )
    return "\n".join(lines)


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``validate`` with parsed arguments; fatal problems raise :class:`FatalError`."""
    out = resolve_out(args.out if args.out is not None else Path(DEFAULT_RESULTS_NAME))
    agreement_path = resolve_out(
        args.agreement if args.agreement is not None else Path(DEFAULT_AGREEMENT_NAME), "--agreement"
    )
    report = resolve_out(args.report, "--report") if args.report is not None else None
    paths = [out, agreement_path] + ([report] if report is not None else [])
    if len(set(paths)) < len(paths):
        raise FatalError(f"two of --out, --agreement and --report are the same file ({', '.join(map(str, paths))}).")
    classifier = load_classifier(args.model, args.threads, stderr)
    info = classifier.info
    scan = scan_target(args.folder, stderr)
    refuse_outputs_over_inputs(scan, [("--out", out), ("--out", partial_results_path(out)),
                                      ("--agreement", agreement_path), ("--report", report)])
    with_reference = sum(1 for record in scan.records if reference_class(record.relpath) is not None)
    if with_reference == 0:
        raise FatalError(
            f"no image in {args.folder} is in a folder named by class (e.g. neutrophil/, lymphocyte/, NRBC/): "
            "there is nothing to compare with. Give the folder that holds the class folders."
        )
    sample = SampleDetails(args.sample_id, args.comment)  # cleaned as the app's dialog cleans them
    batch = classify_scan(scan, classifier, args.batch_size, stderr)
    if batch.interrupted:
        unwritten = "no agreement or report" if report is not None else "no agreement"
        return keep_interrupted(out, batch, info, sample, len(scan.records), unwritten, stderr)
    saved = save_results(out, batch.predictions, info, batch.started_at, sample, stderr)

    threshold = info.card.review_threshold
    agreement = compare(batch.predictions, threshold, reference_class)
    share = unsure_share(batch.predictions, info.card)
    warn_if_unusual(share, stderr)  # as classify and the report do: the figures below may not mean much
    stdout.write(
        f"Model: {info.name} {info.version}, sha256 {info.sha256}\n"
        f"Classified {len(batch.predictions)} images in {batch.elapsed_s:.1f} s.\n"
    )
    if agreement.without_reference:
        stdout.write(f"{agreement.without_reference} classified image(s) are in no folder named by class; "
                     "they are in the results CSV but not compared.\n")
    if agreement.unreadable:
        stdout.write(f"{agreement.unreadable} image(s) in class folders could not be read; see the results CSV.\n")
    stdout.write("\n" + format_agreement(agreement) + "\n\n")
    status = EXIT_OK
    if saved:
        stdout.write(f"Results written to {out}\n")
    else:
        stdout.write(f"Results NOT written to {out} (see the error above).\n")
        status = EXIT_FATAL
    try:
        write_agreement_csv(agreement_path, agreement, info, created=batch.started_at)
    except OSError as exc:
        stderr.write(f"hemoapp: error: cannot write {agreement_path}: {exc.strerror or exc}\n")
        return EXIT_FATAL
    stdout.write(f"Agreement written to {agreement_path}\n")
    if report is not None:
        summary = summarize(batch.predictions, threshold)
        source = str(absolute_path(Path(args.folder).expanduser()))
        if not save_report(report, summary, info, batch.predictions, scan, source, batch.started_at, share, sample,
                           agreement, stderr):
            return EXIT_FATAL
        stdout.write(f"Report written to {report}\n")
    return status


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``hemoapp validate`` (``argv`` excludes the word ``validate``); returns the exit status."""
    return run_command(build_parser(), run, argv, stdout, stderr)
