"""Modules stay small enough to live in (issue 42): the window <= 600 lines, every other module <= 500."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 500
WINDOW_LIMIT = 600


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_of_the_app_or_training_is_over_500_lines():
    window = ROOT / "hemoapp" / "gui" / "main_window.py"
    modules = [p for package in ("hemoapp", "training") for p in (ROOT / package).rglob("*.py") if p != window]
    assert len(modules) > 50  # the walk found the packages
    too_long = {str(p.relative_to(ROOT)): _lines(p) for p in modules if _lines(p) > LIMIT}
    assert too_long == {}


def test_the_main_window_lays_out_and_delegates_in_at_most_600_lines():
    assert _lines(ROOT / "hemoapp" / "gui" / "main_window.py") <= WINDOW_LIMIT
