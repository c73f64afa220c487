#!/usr/bin/env bash
# List the shared libraries a built one-folder bundle takes from the host (Linux).
#
#   packaging/runtime-libs.sh dist/hemolens
#
# Runs ldd on every library in the bundle with the bundle first on the search
# path, and prints each library that resolves *outside* the bundle (or not at
# all), with the Debian package that provides it when dpkg knows. glibc's own
# libraries (libc, libm, libpthread, libdl, librt) are left out: every system
# has them. Information only: exit status 0 unless the folder is missing.
set -uo pipefail

bundle="${1:?usage: runtime-libs.sh DIST_FOLDER}"
internal="$(cd "$bundle/_internal" 2>/dev/null && pwd)" || { echo "no $bundle/_internal" >&2; exit 1; }

find "$internal" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 |
    while IFS= read -r -d '' lib; do
        LD_LIBRARY_PATH="$internal" ldd "$lib" 2>/dev/null | awk -v who="${lib#"$internal"/}" '
            /=>/ { print $1 "\t" ($3 == "not" ? "NOT-FOUND" : $3) "\t" who }'
    done |
    awk -F'\t' -v internal="$internal" 'index($2, internal) != 1' |
    grep -Ev '^(libc|libm|libpthread|libdl|librt|ld-linux[^ ]*)\.so' |
    sort -u -k1,1 |
    while IFS=$'\t' read -r name path who; do
        package=""
        if [[ "$path" != NOT-FOUND ]] && command -v dpkg >/dev/null; then
            package="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)"
            [[ -n "$package" ]] || package="$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)"
        fi
        printf '%-26s %-10s %-22s (first needed by %s)\n' "$name" \
            "$([[ "$path" == NOT-FOUND ]] && echo MISSING || echo host)" "${package:--}" "$who"
    done
