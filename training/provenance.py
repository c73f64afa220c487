"""What a model was trained with: recorded in the run folder while training, put in the card at export.

Each ``python -m training train`` call on a run folder appends one session to
``provenance.json`` (when it started, the git commit of the code, the software
versions) and marks it finished when the model is saved, so a run resumed after a
kill shows both sessions. At export, :func:`training_record` joins that with the
run's own ``config.json`` and the epochs each stage logged: the card then says
which recipe, code and software produced the weights it describes.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from training import atomic
from training.config import RESUME_SAFE_FIELDS
from training.run_paths import RunPaths

#: The run folder's record of its training sessions.
PROVENANCE_FILE = "provenance.json"

#: The repository the training code lives in (where ``git`` is asked for the commit).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Config fields that are not part of the recipe: those that cannot change the weights
#: (names, where files go, export settings; the card's own keys carry name and version)
#: and the data folder's path on this machine (the record keeps its name).
NOT_RECIPE = RESUME_SAFE_FIELDS | {"data_dir"}

#: Packages whose versions can change the trained weights, each with the distribution names
#: it is installed under (pyproject.toml pins tensorflow-cpu; elsewhere it may be tensorflow).
SOFTWARE = {
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "keras": ("keras",),
    "numpy": ("numpy",),
    "pillow": ("pillow",),
}


def code_version(repo: Path = REPO_ROOT) -> str:
    """The git commit of ``repo``, with ``+changes`` if tracked files differ from it.

    ``"unknown"`` where there is no git or no repository (e.g. a source tarball):
    the card then says so instead of guessing.
    """
    try:
        commit = _git(repo, "rev-parse", "HEAD")
        changes = _git(repo, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+changes" if changes else "")


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20, check=True)
    return result.stdout.strip()


def software_versions() -> dict[str, str]:
    """Python's and each package in :data:`SOFTWARE`'s version (``"not installed"`` if absent)."""
    versions = {"python": platform.python_version()}
    for package, distributions in SOFTWARE.items():
        versions[package] = next(
            (version for version in map(_installed_version, distributions) if version), "not installed"
        )
    return versions


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def start_session(run_dir: str | os.PathLike[str], new_run: bool = False) -> None:
    """Append this training call (start time, code version, software) to the run's record.

    ``new_run``: the folder holds no training progress, so earlier sessions (which
    trained nothing that is kept) are dropped.
    """
    sessions = [] if new_run else read_sessions(run_dir)
    sessions.append({"started": _now(), "code": code_version(), "software": software_versions()})
    _write(run_dir, sessions)


def finish_session(run_dir: str | os.PathLike[str]) -> None:
    """Mark the latest session finished (called once the model is saved)."""
    sessions = read_sessions(run_dir)
    if sessions:
        sessions[-1]["finished"] = _now()
        _write(run_dir, sessions)


def read_sessions(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The run's recorded sessions, oldest first ([] for a run trained before they were recorded)."""
    path = Path(run_dir) / PROVENANCE_FILE
    if not path.exists():
        return []
    try:
        sessions = json.loads(path.read_text(encoding="utf-8")).get("sessions")
    except (ValueError, AttributeError):  # not JSON, or not an object
        sessions = None
    if not isinstance(sessions, list) or not all(isinstance(entry, dict) for entry in sessions):
        # Only this bookkeeping is lost, never the training: say so and start the record again.
        print(f"note: {path} is not a session record; it starts again", file=sys.stderr)
        return []
    return sessions


def training_record(paths: RunPaths) -> dict[str, Any]:
    """The card's ``training`` block for the run in ``paths``.

    ``recipe`` is the run's ``config.json`` (what trained the weights, which the export's
    own arguments need not repeat) less :data:`NOT_RECIPE`; ``data`` the data folder's
    name; ``epochs`` how many each stage ran and, for the fine-tuning stages, the
    (1-based) val-accuracy epoch whose weights it kept; ``sessions`` the training calls;
    ``export`` the code and software that converted the weights into the model file (this
    call's: the converter's version shapes the ``.tflite`` as much as training shapes the weights);
    ``distilled_from``, for a distilled run, the teacher model's file name and sha256.
    """
    config = json.loads(paths.config.read_text(encoding="utf-8"))
    epochs: dict[str, int] = {}
    if paths.stage1_history.exists():
        stage1 = json.loads(paths.stage1_history.read_text(encoding="utf-8"))
        epochs["stage1"] = len(stage1.get("loss", []))
    stage = 2
    while paths.history(stage).exists():
        val_accuracy = last_pass_values(paths.history(stage), "val_accuracy")
        epochs[f"stage{stage}"] = len(val_accuracy)
        if val_accuracy:
            epochs[f"stage{stage}_best"] = val_accuracy.index(max(val_accuracy)) + 1
        stage += 1
    record = {
        "recipe": {key: value for key, value in config.items() if key not in NOT_RECIPE},
        "data": Path(config.get("data_dir", "")).name,
        "epochs": epochs,
        "sessions": read_sessions(paths.root),
        "export": {"code": code_version(), "software": software_versions()},
    }
    teacher_sha256 = paths.read_state().get("distill_teacher_sha256")
    if teacher_sha256:
        record["distilled_from"] = {"model": Path(config["distill_teacher"]).name, "sha256": teacher_sha256}
    return record


def last_pass_values(history_csv: Path, metric: str) -> list[float]:
    """``metric`` per epoch of the stage's last pass through a ``CSVLogger`` file.

    The logger appends, so a stage that was run again from its first epoch (its state
    reset, no backup to resume from) leaves two passes in one file; only the last one
    made the weights. A resumed stage goes on counting, so it stays one pass.
    """
    with open(history_csv, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get(metric)]
    starts = [index for index, row in enumerate(rows) if row.get("epoch") == "0"]
    return [float(row[metric]) for row in rows[starts[-1] if starts else 0:]]


def _write(run_dir: str | os.PathLike[str], sessions: list[dict[str, Any]]) -> None:
    atomic.save_json(Path(run_dir) / PROVENANCE_FILE, {"sessions": sessions})


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
