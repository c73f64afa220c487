#!/usr/bin/env bash
# Build the HemoLens bundle with PyInstaller, then prove it works without Python.
#
#   packaging/build.sh                     one folder:  dist/hemolens/hemolens
#   HEMOLENS_ONEFILE=1 packaging/build.sh  one file:    dist/onefile/hemolens
#
# Steps: (1) a build virtualenv with `pip install .[package]` (made once, refreshed
# when pyproject.toml changes); (2) `pyinstaller build.spec`; (3) the built
# executable's `--self-test` in a clean environment (env -i: no venv and no PYTHONPATH,
# so nothing outside the bundle is imported), `classify --report` and `validate --report` on the bundled samples
# with no display; (4) a start of the real window (offscreen) to a shown main window;
# (5) the bundle size, checked against HEMOLENS_MAX_BUNDLE_MB; (6) the system
# libraries the bundle still takes from the host (see packaging/README.md).
#
# Environment (besides build.spec's, listed in packaging/hemolens_bundle.py):
#   HEMOLENS_BUILD_VENV      virtualenv to build in (default: build/venv-package)
#   PYTHON                   interpreter that creates it (default: python3)
#   HEMOLENS_ALLOW_TEST_MODEL=1  accept a model whose card has no metrics
#                            (self-test "plumbing-only"); default: require a trained model
#   HEMOLENS_SKIP_GUI_CHECK=1    skip step 4 (hosts without libGL/libEGL)
#   HEMOLENS_MAX_BUNDLE_MB   size limit of the unpacked bundle (default 250)
# Exit status: non-zero when any step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${HEMOLENS_BUILD_VENV:-$ROOT/build/venv-package}"
PYTHON="${PYTHON:-python3}"
MAX_MB="${HEMOLENS_MAX_BUNDLE_MB:-250}"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# -- 1. build environment ------------------------------------------------------------
stamp="$VENV/.hemolens-pyproject.sha256"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating the build virtualenv $VENV"
    "$PYTHON" -m venv "$VENV" || die "cannot create a virtualenv with $PYTHON"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    say "installing .[package] into $VENV"
    "$VENV/bin/python" -m pip install --quiet "$ROOT[package]" || die "pip install .[package] failed"
    echo "$want" > "$stamp"
fi
"$VENV/bin/python" -m PyInstaller --version >/dev/null 2>&1 || die "PyInstaller is missing from $VENV"

# -- 2. PyInstaller ----------------------------------------------------------------------
if [[ "${HEMOLENS_ONEFILE:-0}" == "1" ]]; then
    DIST="$ROOT/dist/onefile"; EXE="$DIST/hemolens"; BUNDLE="$EXE"
else
    DIST="$ROOT/dist"; EXE="$DIST/hemolens/hemolens"; BUNDLE="$DIST/hemolens"
fi
say "pyinstaller build.spec -> $BUNDLE"
started=$(date +%s)
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$ROOT/build/pyinstaller" build.spec \
    || die "pyinstaller failed (see the messages above)"
echo "built in $(( $(date +%s) - started )) s"
[[ -x "$EXE" ]] || die "no executable at $EXE"
if [[ -d "$BUNDLE/_internal" ]]; then
    [[ -f "$BUNDLE/_internal/licenses/THIRD_PARTY_NOTICES.md" && -f "$BUNDLE/_internal/licenses/LGPL-3.0.txt" ]] \
        || die "the bundle lacks its third-party notices (licenses/)"
fi

# -- 3. self-test without Python ---------------------------------------------------------
selftest_args=(--self-test)
[[ "${HEMOLENS_ALLOW_TEST_MODEL:-0}" == "1" ]] || selftest_args+=(--require-accuracy)
say "$EXE ${selftest_args[*]} (clean environment)"
env -i PATH=/usr/bin:/bin HOME="$HOME" QT_QPA_PLATFORM=offscreen "$EXE" "${selftest_args[@]}" \
    || die "the built executable's self-test failed"

# -- 3b. the command line writes its PDF report with no display (Qt offscreen) ------------
if [[ -d "$BUNDLE/_internal/samples" ]]; then
    say "$EXE classify --report (clean environment, no display)"
    cli_dir="$(mktemp -d)"
    env -i PATH=/usr/bin:/bin HOME="$HOME" "$EXE" classify "$BUNDLE/_internal/samples" \
        --out "$cli_dir/results.csv" --report "$cli_dir/report.pdf" >"$cli_dir/stdout" \
        || { cat "$cli_dir/stdout"; die "the built executable's classify --report failed"; }
    [[ "$(head -c 5 "$cli_dir/report.pdf")" == "%PDF-" ]] || die "classify --report wrote no PDF"
    echo "report: $(wc -c <"$cli_dir/report.pdf") bytes, $(grep -c . "$cli_dir/results.csv") CSV lines"
    # -- 3c. validate: the samples sit in a folder per class, so they check it as a lab would
    say "$EXE validate --report (clean environment)"
    env -i PATH=/usr/bin:/bin HOME="$HOME" "$EXE" validate "$BUNDLE/_internal/samples" \
        --out "$cli_dir/validation.csv" --agreement "$cli_dir/agreement.csv" \
        --report "$cli_dir/validation.pdf" >"$cli_dir/stdout" \
        || { cat "$cli_dir/stdout"; die "the built executable's validate failed"; }
    grep -q '^matrix,' "$cli_dir/agreement.csv" || die "validate wrote no confusion matrix"
    [[ "$(head -c 5 "$cli_dir/validation.pdf")" == "%PDF-" ]] || die "validate --report wrote no PDF"
    grep -m1 '^Agreement with' "$cli_dir/stdout"
    rm -rf "$cli_dir"
fi

# -- 4. the window starts ----------------------------------------------------------------
if [[ "${HEMOLENS_SKIP_GUI_CHECK:-0}" != "1" ]]; then
    say "$EXE --startup-probe (offscreen, clean environment, fresh settings)"
    probe_home="$(mktemp -d)"
    trap 'rm -rf "$probe_home"' EXIT
    t0=$(date +%s.%N)
    out="$(env -i PATH=/usr/bin:/bin HOME="$probe_home" QT_QPA_PLATFORM=offscreen "$EXE" --startup-probe 2>"$probe_home/stderr")" \
        || { cat "$probe_home/stderr" >&2; die "the app did not start (missing system libraries? see packaging/README.md)"; }
    ready=$(awk '/^HEMOLENS_READY/ {print $2}' <<<"$out")
    [[ -n "$ready" ]] || { cat "$probe_home/stderr" >&2; die "the app started but never showed its window"; }
    awk -v a="$t0" -v b="$ready" 'BEGIN { printf "main window shown %.2f s after launch\n", b - a }'
fi

# -- 5. size -----------------------------------------------------------------------------
say "bundle size"
du -sh "$BUNDLE"
size_mb=$(( $(du -sk "$BUNDLE" | cut -f1) / 1024 ))
(( size_mb <= MAX_MB )) || die "the bundle is ${size_mb} MB, over the ${MAX_MB} MB limit"

# -- 6. what the host must provide -------------------------------------------------------
if [[ -d "$DIST/hemolens/_internal" && "$(uname -s)" == "Linux" ]]; then
    say "system libraries the bundle loads from the host"
    "$ROOT/packaging/runtime-libs.sh" "$DIST/hemolens" || true
fi
say "OK: $BUNDLE"
