"""The training record a card carries: sessions, code version, software, recipe and epochs."""

import json
import subprocess

import keras
import pytest

from training import provenance
from training.config import TrainConfig
from training.provenance import (
    NOT_RECIPE,
    PROVENANCE_FILE,
    code_version,
    finish_session,
    read_sessions,
    software_versions,
    start_session,
    training_record,
)
from training.train import RunPaths


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


def test_code_version_is_the_commit_and_says_when_tracked_files_changed(tmp_path):
    (tmp_path / "train.py").write_text("a = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "train.py")
    _git(tmp_path, "commit", "-q", "-m", "first")
    commit = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert code_version(tmp_path) == commit and len(commit) == 40
    (tmp_path / "notes.txt").write_text("untracked files do not change the code\n")
    assert code_version(tmp_path) == commit
    (tmp_path / "train.py").write_text("a = 2\n")
    assert code_version(tmp_path) == commit + "+changes"


def test_code_version_outside_a_repository_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # do not find a repo further up
    assert code_version(tmp_path) == "unknown"


def test_software_versions_name_the_installed_packages():
    import tensorflow as tf

    versions = software_versions()
    assert versions["keras"] == keras.__version__ and versions["tensorflow"] == tf.__version__
    assert set(versions) == {"python", *provenance.SOFTWARE}


def test_sessions_append_finish_and_start_over_for_a_new_run(tmp_path):
    assert read_sessions(tmp_path) == []
    start_session(tmp_path)
    finish_session(tmp_path)
    start_session(tmp_path)  # a resumed run: a second call on the same folder
    sessions = read_sessions(tmp_path)
    assert len(sessions) == 2
    assert "finished" in sessions[0] and "finished" not in sessions[1]
    assert sessions[0]["started"] <= sessions[0]["finished"] <= sessions[1]["started"]
    assert sessions[1]["software"] == software_versions() and sessions[1]["code"]
    start_session(tmp_path, new_run=True)
    assert len(read_sessions(tmp_path)) == 1


def test_training_record_takes_the_run_config_and_the_logged_epochs(tmp_path):
    paths = RunPaths(tmp_path / "run")
    paths.root.mkdir()
    config = TrainConfig(data_dir="/data/somewhere/pbc8", run_dir=str(paths.root), seed=77, stage2_epochs=5)
    paths.config.write_text(json.dumps(config.as_dict()))
    paths.stage1_history.write_text(json.dumps({"loss": [1.0, 0.5, 0.4], "val_accuracy": [0.5, 0.6, 0.7]}))
    paths.history(2).write_text("epoch,accuracy,val_accuracy\n0,0.5,0.80\n1,0.6,0.90\n2,0.7,0.85\n3,0.8,0.90\n")
    start_session(paths.root)
    record = training_record(paths)
    assert record["recipe"]["seed"] == 77 and record["recipe"]["stage2_epochs"] == 5
    assert not NOT_RECIPE & set(record["recipe"]), "machine paths or export settings in the recipe"
    assert set(record["recipe"]) | NOT_RECIPE == set(config.as_dict())
    assert record["data"] == "pbc8"
    # The first of two equal val accuracies is the checkpoint's epoch (save_best_only keeps strict gains).
    assert record["epochs"] == {"stage1": 3, "stage2": 4, "stage2_best": 2}
    assert record["sessions"] == read_sessions(paths.root)
    # The export names the code and software converting the weights now, not those that trained them.
    (paths.root / PROVENANCE_FILE).write_text(json.dumps({"sessions": [{"code": "an-older-commit"}]}))
    assert training_record(paths)["export"] == {"code": code_version(), "software": software_versions()}
    # Stage 2 run again from its first epoch (state reset, no backup): the logger appended a second pass.
    with open(paths.history(2), "a") as log:
        log.write("0,0.5,0.70\n1,0.6,0.75\n")
    assert training_record(paths)["epochs"] == {"stage1": 3, "stage2": 2, "stage2_best": 2}


@pytest.mark.parametrize("content", ['["not", "an", "object"]', '{"sessions": "nonsense"}', '{"sessions": [1]}', "{"])
def test_a_malformed_record_says_so_and_starts_again(tmp_path, content, capsys):
    (tmp_path / provenance.PROVENANCE_FILE).write_text(content)
    assert read_sessions(tmp_path) == []
    assert "is not a session record" in capsys.readouterr().err
    start_session(tmp_path)
    assert len(read_sessions(tmp_path)) == 1
