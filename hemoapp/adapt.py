"""``hemoapp adapt FOLDER --out PROFILE``: fit a lab profile from a folder of class folders, headless.

``FOLDER`` holds a folder per class, named like the model's classes (``neutrophil/``,
``lymphocyte/``, ...): a lab's reviewed cells (the app's *File > Export Reviewed Cells…*) or
its validation set. The profile (:mod:`hemoapp.core.lab_profile`) is written to ``--out``
(``.hlprofile.json`` is added when missing) and the cross-validated figures are printed;
``hemoapp classify|validate --model PROFILE`` then uses it. Exit status 0; 2 when no profile
was made (too few cells, a profile no better than the base model: both numbers are printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from hemoapp.cli import FatalError, load_classifier, positive_int, run_command
from hemoapp.core.contract import CLASS_NAMES, FRAMINGS
from hemoapp.core.lab_profile import (
    DEFAULT_PROFILE_FRAMING,
    PROFILE_SUFFIX,
    LabProfile,
    ProfileError,
    build_profile,
    class_folder_cells,
    is_profile_path,
    save_profile,
)
from hemoapp.core.profile_fit import FitSettings
from hemoapp.core.review import current_user


def build_parser() -> argparse.ArgumentParser:
    """The ``hemoapp adapt`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hemoapp adapt",
        description="Fit a lab profile from a folder of class folders (a lab's reviewed cells) and print its "
                    "cross-validated accuracy beside the base model's.",
    )
    parser.add_argument("folder", type=Path, help="a folder with a folder per class (neutrophil/, lymphocyte/, ...)")
    parser.add_argument("--out", type=Path, required=True, help=f"the profile to write (*{PROFILE_SUFFIX})")
    parser.add_argument("--name", default="", help="the profile's name (default: the folder's name)")
    parser.add_argument("--author", default="", help="who made it (default: the login name)")
    parser.add_argument("--min-cells", type=positive_int, default=FitSettings.min_cells,
                        help="cells a class needs to be adapted (default %(default)s)")
    parser.add_argument("--framing", choices=FRAMINGS, default=DEFAULT_PROFILE_FRAMING,
                        help="how a cell is framed for the features (default %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=None, help="inference threads (default: all cores)")
    return parser


def profile_out_path(out: Path) -> Path:
    """``out`` with the profile suffix (added when missing)."""
    return out if is_profile_path(out) else out.with_name(out.name + PROFILE_SUFFIX)


def format_profile(profile: LabProfile) -> str:
    """The profile's figures as printed: cells per class, cross-validation, per-class rights."""
    card = profile.card
    cv = card["cross_validation"]
    lines = [f"Lab profile {profile.name!r} on {card['base_model']['name']} {card['base_model']['version']} "
             f"(sha256 {card['base_model']['sha256'][:12]})",
             f"Cells fitted on: {sum(card['counts'].values())} "
             f"({', '.join(f'{c} {n}' for c, n in card['counts'].items())})",
             f"Adapted classes: {', '.join(card['adapted_classes'])}; the base model keeps "
             f"{', '.join(card['base_kept_classes']) or 'none'}",
             f"Cross-validated ({cv['folds']} folds) on {cv['n']} held-out reviewed cells:",
             f"  profile    {cv['profile_accuracy']:6.1%}  ({cv['profile_correct']}/{cv['n']}, 95% "
             f"{cv['interval95'][0]:.1%}-{cv['interval95'][1]:.1%})",
             f"  base model {cv['base_accuracy']:6.1%}  ({cv['base_correct']}/{cv['n']}, 95% "
             f"{cv['base_interval95'][0]:.1%}-{cv['base_interval95'][1]:.1%})"]
    for name in CLASS_NAMES:
        row = cv["per_class"].get(name)
        if row:
            lines.append(f"    {name:<13}{row['n']:>5} cells: profile {row['profile_correct']:>4}, "
                         f"base {row['base_correct']:>4} right")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Fit, print and write the profile (see the module's docstring)."""
    out = profile_out_path(args.out)
    try:
        paths, labels, skipped = class_folder_cells(args.folder)
    except ProfileError as exc:
        raise FatalError(str(exc)) from exc
    for name in skipped:
        stderr.write(f"warning: skipped folder {name}/: not a class ({', '.join(CLASS_NAMES)})\n")
    if not paths:
        raise FatalError(f"{args.folder} has no images in class folders ({', '.join(CLASS_NAMES)}).")
    base = load_classifier(None, args.threads, stderr)
    start = time.perf_counter()
    last = [""]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last[0]:
            stderr.write(f"{stage}…\n")
            last[0] = stage

    try:
        profile = build_profile(paths, labels, base, args.name or args.folder.resolve().name,
                                args.author or current_user(), FitSettings(min_cells=args.min_cells),
                                args.framing, progress)
    except ProfileError as exc:
        raise FatalError(str(exc)) from exc
    stdout.write(format_profile(profile))
    try:
        save_profile(profile, out)
    except OSError as exc:
        raise FatalError(f"the profile cannot be written to {out}: {exc.strerror or exc}") from exc
    stdout.write(f"Fitted in {time.perf_counter() - start:.1f} s. Profile: {out} (sha256 {profile.sha256})\n"
                 f"Use it: hemoapp classify FOLDER --model {out}\n")
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``hemoapp adapt`` (``argv`` excludes the word ``adapt``)."""
    return run_command(build_parser(), run, argv, stdout or sys.stdout, stderr or sys.stderr)
