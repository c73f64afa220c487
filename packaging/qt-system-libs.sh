#!/usr/bin/env bash
# The system libraries Qt's platform plugin needs, found with ldd, and the Debian packages that hold them.
#
# PySide6's wheels carry Qt itself but not the X11/xcb, EGL, fontconfig ... libraries of the system. Qt's own
# message when one is missing names only xcb-cursor ("xcb-cursor0 or libxcb-cursor0 is needed"), even when
# the library it could not load is libxcb-icccm4 or libxcb-keysyms1. This script asks ldd instead.
#
# Usage (from the repository root; PY defaults to .venv/bin/python):
#   packaging/qt-system-libs.sh missing PLATFORM      sonames Qt (and its PLATFORM plugin: xcb, offscreen,
#                                                     wayland ...) cannot find, one per line
#   packaging/qt-system-libs.sh packages SONAME...    the Debian packages that provide them
#   packaging/qt-system-libs.sh ensure PLATFORM       nothing missing: exit 0. Otherwise install the packages
#                                                     when allowed (as root, or HEMOLENS_APT_INSTALL=1 with
#                                                     sudo; HEMOLENS_APT_INSTALL=0 never), else print the
#                                                     exact apt-get line and exit 1
set -euo pipefail

PY=${PY:-.venv/bin/python}

# Debian package that provides a shared library (by its soname).
package_for() {
    case "$1" in
        libEGL.so*) echo libegl1 ;;
        libGL.so* | libGLX.so*) echo libgl1 ;;
        libOpenGL.so*) echo libopengl0 ;;
        libxkbcommon.so*) echo libxkbcommon0 ;;
        libxkbcommon-x11.so*) echo libxkbcommon-x11-0 ;;
        libfontconfig.so*) echo libfontconfig1 fonts-dejavu-core ;;
        libfreetype.so*) echo libfreetype6 ;;
        libdbus-1.so*) echo libdbus-1-3 ;;
        libglib-2.0.so* | libgthread-2.0.so* | libgobject-2.0.so*)
            # Renamed for the 64-bit time_t transition (Debian 13, Ubuntu 24.04).
            if apt-cache show libglib2.0-0t64 >/dev/null 2>&1; then echo libglib2.0-0t64; else echo libglib2.0-0; fi ;;
        libX11.so*) echo libx11-6 ;;
        libX11-xcb.so*) echo libx11-xcb1 ;;
        libxcb.so*) echo libxcb1 ;;
        # libxcb-icccm.so.4 -> libxcb-icccm4, libxcb-render-util.so.0 -> libxcb-render-util0,
        # libwayland-client.so.0 -> libwayland-client0, ...
        libxcb-*.so.* | libwayland-*.so.*) local stem=${1%%.so.*}; echo "${stem}${1##*.so.}" ;;
        libgssapi_krb5.so*) echo libgssapi-krb5-2 ;;
        libpng16.so*) echo libpng16-16 ;;
        libharfbuzz.so*) echo libharfbuzz0b ;;
        libz.so*) echo zlib1g ;;
        *) echo "qt-system-libs: no Debian package known for $1" >&2 ;;
    esac
}

missing() {
    local platform=$1 qt_dir plugin
    qt_dir=$("$PY" -c "import os, PySide6; print(os.path.dirname(PySide6.__file__))")
    plugin="$qt_dir/Qt/plugins/platforms/libq${platform}.so"
    if [ ! -e "$plugin" ]; then
        echo "qt-system-libs: Qt has no '$platform' platform plugin ($plugin)" >&2
        return 2
    fi
    # ldd follows the plugin's own Qt libraries (libQt6XcbQpa for xcb) to the system ones they need.
    ldd "$plugin" "$qt_dir"/QtCore.abi3.so "$qt_dir"/QtGui.abi3.so "$qt_dir"/QtWidgets.abi3.so 2>/dev/null \
        | awk '/not found/ {print $1}' | sort -u
}

packages() {
    for lib in "$@"; do package_for "$lib"; done | tr ' ' '\n' | sed '/^$/d' | sort -u
}

ensure() {
    local platform=$1 libs pkgs sudo=""
    if [ "$(uname -s)" != Linux ] || ! command -v ldd >/dev/null 2>&1; then return 0; fi
    libs=$(missing "$platform")
    [ -z "$libs" ] && return 0
    # shellcheck disable=SC2086 - one word per soname
    pkgs=$(packages $libs | tr '\n' ' ')
    echo "Qt's $platform platform plugin cannot find: $(echo $libs)" >&2
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    local line="${sudo:+$sudo }apt-get install -y --no-install-recommends ${pkgs% }"
    local allowed=${HEMOLENS_APT_INSTALL:-}
    if [ -z "$allowed" ]; then allowed=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0); fi
    if [ "$allowed" = 1 ] && [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then allowed=0; fi
    if [ "$allowed" = 1 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing them: $line" >&2
        $sudo apt-get update -q
        # shellcheck disable=SC2086 - one word per package
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $pkgs
        libs=$(missing "$platform")
        if [ -n "$libs" ]; then echo "Still missing after the install: $(echo $libs)" >&2; return 1; fi
        return 0
    fi
    echo "Install them with:" >&2
    echo "    $line" >&2
    echo "(or run again with HEMOLENS_APT_INSTALL=1 to let this script run it with sudo)" >&2
    return 1
}

command=${1:-}
shift || true
case "$command" in
    missing) missing "${1:?platform}" ;;
    packages) packages "$@" ;;
    ensure) ensure "${1:?platform}" ;;
    *) echo "usage: $0 missing PLATFORM | packages SONAME... | ensure PLATFORM" >&2; exit 2 ;;
esac
