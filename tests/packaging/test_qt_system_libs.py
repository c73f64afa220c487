"""`make run` and .ci/run name (or install) the system libraries Qt's platform plugin lacks.

On a fresh Debian machine `make run` once failed with Qt's "xcb-cursor0 or libxcb-cursor0 is needed" while
libxcb-cursor0 was installed and libxcb-icccm4 and libxcb-keysyms1 were not: the script asks ldd instead.
A fake ``ldd`` on PATH stands for that machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "qt-system-libs.sh"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd and apt-get are Linux's")


def _run(tmp_path: Path, *args: str, ldd_output: str, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "ldd"
    fake.write_text(f"#!/bin/sh\ncat <<'OUT'\n{ldd_output}OUT\n")
    fake.chmod(0o755)
    full_env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PY": sys.executable, **env}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=60)


MISSING_ON_THE_FRESH_MACHINE = (
    "\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x1)\n"
    "\tlibxcb-icccm.so.4 => not found\n"
    "\tlibxcb-keysyms.so.1 => not found\n"
    "\tlibxcb-icccm.so.4 => not found\n"
)


def test_missing_xcb_libraries_are_named_with_the_exact_apt_get_line(tmp_path):
    result = _run(tmp_path, "ensure", "xcb", ldd_output=MISSING_ON_THE_FRESH_MACHINE, HEMOLENS_APT_INSTALL="0")
    assert result.returncode == 1, result.stderr
    assert "cannot find: libxcb-icccm.so.4 libxcb-keysyms.so.1" in result.stderr
    assert "apt-get install -y --no-install-recommends libxcb-icccm4 libxcb-keysyms1\n" in result.stderr
    assert "Installing" not in result.stderr


def test_nothing_missing_is_silent_and_succeeds(tmp_path):
    result = _run(tmp_path, "ensure", "xcb", ldd_output="\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n",
                  HEMOLENS_APT_INSTALL="0")
    assert (result.returncode, result.stderr) == (0, "")


def test_an_unknown_platform_is_an_error_not_a_pass(tmp_path):
    result = _run(tmp_path, "missing", "no-such-platform", ldd_output="")
    assert result.returncode == 2 and "no 'no-such-platform' platform plugin" in result.stderr


def test_debian_package_names_of_every_library_the_xcb_plugin_links():
    result = subprocess.run(
        ["bash", str(SCRIPT), "packages", "libxcb-cursor.so.0", "libxcb-render-util.so.0", "libxcb-xkb.so.1",
         "libX11-xcb.so.1", "libxkbcommon-x11.so.0", "libwayland-client.so.0", "libEGL.so.1"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout.split() == sorted([
        "libxcb-cursor0", "libxcb-render-util0", "libxcb-xkb1", "libx11-xcb1", "libxkbcommon-x11-0",
        "libwayland-client0", "libegl1",
    ])


def test_make_run_and_ci_use_the_script():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "packaging/qt-system-libs.sh ensure" in run_recipe
    assert run_recipe.index("qt-system-libs.sh") < run_recipe.index("-m hemoapp")  # checked before the window
    assert "packaging/qt-system-libs.sh ensure offscreen" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
