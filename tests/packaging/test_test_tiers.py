"""The test suite's two tiers: `make test` leaves the slow end-to-end training runs out, and CI runs both.

`make test` once took over 15 minutes on 2 cores, 14 of them in tests/training; the slow runs moved to
`make test-slow`. These checks keep the split from losing a test: the two marker expressions are each
other's complement, and .ci/run runs both targets.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, flags=re.M)
    assert match, target
    return match.group(1)


def test_make_test_leaves_out_exactly_what_make_test_slow_runs():
    assert '-m "not slow"' in _recipe("test")
    assert re.search(r"-m slow\b", _recipe("test-slow"))
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert any(marker.startswith("slow:") for marker in markers["markers"])  # registered, so a typo is visible


def test_ci_runs_both_tiers():
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert any(line.startswith("make test ") for line in commands)
    assert any(line.startswith("make test-slow ") for line in commands)
