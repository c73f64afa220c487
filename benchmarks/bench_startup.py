"""Time HemoLens from launch to a shown main window, and the bundle's self-test.

The app is started with the hidden ``--startup-probe`` flag (see
:mod:`hemoapp.selftest`): it runs the real :func:`hemoapp.gui.app.run_gui`, and
prints ``HEMOLENS_READY <unix time>`` once the main window is shown, then exits.
Start-up time is that timestamp minus the time just before the launch. Every run
gets a clean environment (``env -i``: no Python, no virtualenv on PATH), Qt's
offscreen platform (no display needed) and a fresh, empty HOME, so it is a
first start with no saved settings::

    python benchmarks/bench_startup.py                       # dist/hemolens/hemolens, 5 runs
    python benchmarks/bench_startup.py --source --runs 3     # python -m hemoapp, for comparison
    sudo python benchmarks/bench_startup.py --drop-caches    # first run from a cold page cache

Only the first run after ``--drop-caches`` is a cold start in the strict sense;
later runs find the files in the page cache (a user's second start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE_EXE = REPO_ROOT / "dist" / "hemolens" / "hemolens"
READY_MARKER = "HEMOLENS_READY"  # hemoapp.selftest.READY_MARKER (not imported: keep this script Qt-free)

#: Environment of every launch: nothing from the caller's shell but PATH and a display setting.
BASE_ENV = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}


@dataclass
class Timings:
    """Seconds per run of one command; ``errors`` holds why runs failed."""

    label: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def first(self) -> float | None:
        """The first run (the coldest)."""
        return self.seconds[0] if self.seconds else None

    @property
    def median(self) -> float | None:
        """The median run."""
        return statistics.median(self.seconds) if self.seconds else None

    def summary(self) -> str:
        """``first 0.62 s, median 0.50 s (5 runs)`` or the first error."""
        if not self.seconds:
            return f"FAILED: {self.errors[0] if self.errors else 'no runs'}"
        text = f"first {self.first:.2f} s, median {self.median:.2f} s ({len(self.seconds)} runs)"
        return text + (f", {len(self.errors)} failed" if self.errors else "")


def drop_page_cache() -> str | None:
    """Flush the Linux page cache (root only); return why not, or ``None`` when done."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        return f"cannot drop the page cache ({exc.strerror or exc}); needs root on Linux"
    return None


def _env(home: Path, extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(BASE_ENV, HOME=str(home))
    env.update(extra or {})
    return env


def time_to_ready(command: list[str], extra_env: dict[str, str] | None = None, timeout: float = 60.0) -> float:
    """Launch ``command`` (which must honour ``--startup-probe``) once; seconds to a shown window.

    Raises:
        RuntimeError: the app failed, timed out, or never reported a shown window.
    """
    with tempfile.TemporaryDirectory(prefix="hemolens-startup-") as home:
        launched = time.time()
        try:
            done = subprocess.run(
                command, env=_env(Path(home), extra_env), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"no window within {timeout:.0f} s") from None
    for line in done.stdout.splitlines():
        if line.startswith(READY_MARKER):
            return float(line.split()[1]) - launched
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    raise RuntimeError(f"exit {done.returncode}, no {READY_MARKER} line: {' | '.join(tail)}")


def time_command(command: list[str], extra_env: dict[str, str] | None = None, timeout: float = 300.0) -> float:
    """Seconds a command takes to finish successfully (e.g. ``--self-test``).

    Raises:
        RuntimeError: non-zero exit or timeout.
    """
    with tempfile.TemporaryDirectory(prefix="hemolens-startup-") as home:
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, env=_env(Path(home), extra_env), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"did not finish within {timeout:.0f} s") from None
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-2:]
        raise RuntimeError(f"exit {done.returncode}: {' | '.join(tail)}")
    return elapsed


def repeat(label: str, runs: int, measure) -> Timings:
    """Call ``measure()`` ``runs`` times, collecting seconds and errors."""
    timings = Timings(label)
    for _ in range(runs):
        try:
            timings.seconds.append(measure())
        except RuntimeError as exc:
            timings.errors.append(str(exc))
    return timings


def bundle_startup(exe: Path, runs: int, drop_caches: bool = False) -> Timings:
    """Start-up of a built bundle, ``runs`` times (the first after dropping caches if asked)."""
    if not exe.is_file():
        return Timings(f"bundle {exe}", errors=[f"{exe} not built (run packaging/build.sh)"])
    note = drop_page_cache() if drop_caches else None
    timings = repeat(f"bundle {exe.relative_to(REPO_ROOT) if exe.is_relative_to(REPO_ROOT) else exe}", runs,
                     lambda: time_to_ready([str(exe), "--startup-probe"]))
    if note:
        timings.errors.append(note)
    return timings


def source_startup(python: str, runs: int, model_env: dict[str, str] | None = None) -> Timings:
    """Start-up of ``python -m hemoapp`` from the checkout, for comparison with the bundle."""
    env = {"PYTHONPATH": str(REPO_ROOT), **(model_env or {})}
    return repeat("source (python -m hemoapp)", runs,
                  lambda: time_to_ready([python, "-m", "hemoapp", "--startup-probe"], env))


def bundle_self_test(exe: Path, runs: int = 1) -> Timings:
    """Time the bundle's ``--self-test`` to its end (plumbing-only is accepted here)."""
    if not exe.is_file():
        return Timings("bundle --self-test", errors=[f"{exe} not built"])
    return repeat("bundle --self-test", runs, lambda: time_command([str(exe), "--self-test"]))


def main(argv: list[str] | None = None) -> int:
    """Print start-up times; exit 1 if any measured command failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", type=Path, default=DEFAULT_BUNDLE_EXE, help="the bundle's executable")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", action="store_true", help="also time python -m hemoapp from the checkout")
    parser.add_argument("--drop-caches", action="store_true", help="drop the page cache first (root)")
    args = parser.parse_args(argv)
    results = [bundle_startup(args.exe, args.runs, args.drop_caches), bundle_self_test(args.exe)]
    if args.source:
        results.append(source_startup(sys.executable, args.runs))
    for timings in results:
        print(f"{timings.label:<40} {timings.summary()}")
    return 1 if any(not t.seconds for t in results) else 0


if __name__ == "__main__":
    sys.exit(main())
