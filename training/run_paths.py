"""The files of one training run folder: checkpoints, histories, the progress marker, the final model.

Its own module so that :mod:`training.train` and :mod:`training.provenance` (which
records what a run folder holds) both use it without importing each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from training import atomic


class RunPaths:
    """Files of one run folder (checkpoints, histories, the final model)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.root = Path(run_dir)
        self.stage1_weights = self.root / "stage1.weights.h5"
        self.stage1_history = self.root / "stage1_history.json"
        self.final_model = self.root / "model.keras"
        self.state = self.root / "state.json"
        self.config = self.root / "config.json"
        self.features = self.root / "features"

    # Fine-tuning stages (2, 3): per-stage files, so a resume never mixes two stages' state.
    def best_weights(self, stage: int) -> Path:
        """The stage's best val epoch (``ModelCheckpoint``)."""
        return self.root / f"stage{stage}_best.weights.h5"

    def end_weights(self, stage: int) -> Path:
        """The weights a finished stage hands on to the next one."""
        return self.root / f"stage{stage}_end.weights.h5"

    def history(self, stage: int) -> Path:
        """The stage's per-epoch log (``CSVLogger``)."""
        return self.root / f"stage{stage}_history.csv"

    def backup(self, stage: int) -> Path:
        """The stage's ``BackupAndRestore`` folder (resume inside the stage)."""
        return self.root / ("backup" if stage == 2 else f"backup_stage{stage}")

    def feature_cache(self, split: str, key: str) -> Path:
        """Stage 1's cached backbone features of ``split``, under the key of what they depend on."""
        return self.features / f"{split}-{key}.npy"

    @property
    def stage2_history(self) -> Path:
        """Stage 2's log (the name earlier code and tests use)."""
        return self.history(2)

    def read_state(self) -> dict:
        """The run's progress marker (which stages are done)."""
        return json.loads(self.state.read_text()) if self.state.exists() else {}

    def write_state(self, **updates) -> None:
        """Merge ``updates`` into the progress marker, atomically."""
        atomic.save_json(self.state, self.read_state() | updates)
