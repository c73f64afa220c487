"""The architecture rules of DESIGN.md, enforced with import-linter.

The contracts live in pyproject.toml ([tool.importlinter]).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

#: How many contracts pyproject.toml holds; the throwaway tree below breaks every one.
CONTRACTS = 6


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run(
        [*command, "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept(repo_root):
    result = lint_imports(repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CONTRACTS} kept, 0 broken" in result.stdout


def test_contracts_catch_violations(repo_root, tmp_path):
    # The same contracts on a throwaway tree that breaks each of them.
    shutil.copyfile(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    files = {
        "hemoapp/__init__.py": "",
        "hemoapp/core/__init__.py": "",
        "hemoapp/core/bad.py": "from PySide6 import QtCore\n",
        "hemoapp/gui/__init__.py": "",
        "hemoapp/gui/bad.py": "import tensorflow\n",
        "training/__init__.py": "",
        "training/bad.py": "import hemoapp.gui.bad\n",
        # The report PDF's lazy way into Qt is allowed; any other import of the GUI is not.
        "hemoapp/cli.py": "import hemoapp.gui.bad\n\ndef report():\n    import PySide6\n    import hemoapp.gui.report_pdf\n",
        "hemoapp/gui/report_pdf.py": "import PySide6\n",
        "hemoapp/validate.py": "",
        "hemoapp/explain.py": "",
        "hemoapp/adapt.py": "import PySide6.QtWidgets\n",  # hemoapp adapt is headless too
        "hemoapp/selftest.py": "",
        "hemoapp/core/one.py": "import hemoapp.core.two\n",
        "hemoapp/core/two.py": "import hemoapp.core.one\n",
        "hemoapp/gui/main_window.py": "",
        "hemoapp/gui/controllers/__init__.py": "",
        "hemoapp/gui/widgets/__init__.py": "import hemoapp.gui.controllers\n",  # a widget may not use a controller
        "hemoapp/gui/table_model.py": "",
        "hemoapp/gui/controller.py": "",
        "hemoapp/gui/workers.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"0 kept, {CONTRACTS} broken" in result.stdout
    assert "hemoapp.core.bad -> PySide6" in result.stdout
    assert "hemoapp.cli -> hemoapp.gui.bad" in result.stdout
    assert "hemoapp.adapt -> PySide6" in result.stdout
    assert "hemoapp.gui.widgets is not allowed to import hemoapp.gui.controllers" in result.stdout
