#!/usr/bin/env bash
# Build the bundle, install the .deb, and check the installed app as a user would get it; print the figures.
#
#   packaging/test_package.sh          (make package-test; same variables as build.sh)
#
# INSTALL=root (default) installs the .deb with dpkg into a throwaway root folder; INSTALL=system installs
# it into this machine with apt-get (as root) and removes it afterwards. Needs Xvfb, desktop-file-validate
# and appstreamcli (installed here when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."
INSTALL=${INSTALL:-root}
APP_ID=io.github.cvstudio.cvstudio
XVFB=(xvfb-run -a -s "-screen 0 1600x1000x24")
failures=0

check() {  # check DESCRIPTION COMMAND...: run a check, report it, count a failure
    local description=$1
    shift
    if "$@"; then echo "PASS  $description"; else echo "FAIL  $description"; failures=$((failures + 1)); fi
}

quiet() { "$@" >/dev/null; }

needed=()
command -v xvfb-run >/dev/null || needed+=(xvfb xauth)
command -v desktop-file-validate >/dev/null || needed+=(desktop-file-utils)
command -v appstreamcli >/dev/null || needed+=(appstream)
if [ ${#needed[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${needed[@]}"
    else
        echo "install first: sudo apt-get install ${needed[*]}" >&2
        exit 2
    fi
fi

packaging/build.sh
SUFFIX=""
[ "${TORCH:-venv}" = cpu ] && SUFFIX="-cpu"
# shellcheck disable=SC1090
source "build/linux-x86_64$SUFFIX/figures.env"
# The venv app the bundle is compared with: the development venv, where cvstudio is installed
# (the CPU build environment holds only its requirements).
PY=${VENV:-.venv}/bin/python

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_DATA_HOME=$work/home/data XDG_CONFIG_HOME=$work/home/config
export XDG_CACHE_HOME=$work/home/cache CVSTUDIO_RUNS_DIR=$work/runs
unset CVSTUDIO_DISABLE_PLUGIN_AUTOLOAD CVSTUDIO_PLUGIN_PATH
mkdir -p "$HOME"

echo "== installing $DEB ($INSTALL)"
if [ "$INSTALL" = system ]; then
    apt-get install -y -q "./$DEB" >/dev/null
    trap 'apt-get remove -y -q cvstudio >/dev/null; rm -rf "$work"' EXIT
    prefix=""
else
    prefix=$work/root
    mkdir -p "$prefix/var/lib/dpkg/info" "$prefix/var/lib/dpkg/updates"
    touch "$prefix/var/lib/dpkg/status"
    # The throwaway root has no packages, so dpkg is told to ignore them; the next check looks at this machine.
    dpkg --root="$prefix" --force-depends -i "$DEB" >/dev/null 2>"$work/dpkg.log" || { cat "$work/dpkg.log"; exit 1; }
fi
depends_installed() {  # every package the .deb depends on is installed on this machine
    local name
    for name in $(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/ //g'); do
        dpkg-query -W -f='${Status}\n' "$name" 2>/dev/null | grep -q "install ok installed" \
            || { echo "      not installed here: $name"; return 1; }
    done
}
check "the .deb's dependencies are installed on this machine" depends_installed
app=$prefix/opt/cvstudio/cvstudio
check "dpkg lists cvstudio as installed" \
    sh -c "dpkg --root='${prefix:-/}' -s cvstudio | grep -q '^Status: install ok installed'"
check "/usr/bin/cvstudio starts the bundle" test "$(readlink "$prefix/usr/bin/cvstudio")" = /opt/cvstudio/cvstudio
check "desktop entry validates" desktop-file-validate "$prefix/usr/share/applications/$APP_ID.desktop"
check "metainfo validates" appstreamcli validate --no-net "$prefix/usr/share/metainfo/$APP_ID.metainfo.xml"
for size in 16x16 32x32 48x48 64x64 128x128 256x256; do
    check "icon $size installed" test -f "$prefix/usr/share/icons/hicolor/$size/apps/$APP_ID.png"
done
check "scalable icon installed" test -f "$prefix/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"

calc() { "$PY" -c "print(round($1, 2))"; }

first_frame_seconds() {  # first_frame_seconds SUMMARY START: seconds from START to the window's first frame
    "$PY" -c "import json, sys
try:
    print(round(json.load(open(sys.argv[1]))['checks'][0]['details']['first_frame_unix_time'] - float(sys.argv[2]), 2))
except (OSError, ValueError, KeyError):
    print(999)  # no window: counted as no measurement" "$1" "$2"
}

echo "== plain cvstudio, as the desktop entry starts it"
check "without a display it says so and what to do" sh -c "env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM \
    '$app' 2>&1 | grep -q 'no display found'"
still_running() { timeout 20 "${XVFB[@]}" "$app" >/dev/null 2>&1; [ $? = 124 ]; }
check "with a display it opens and keeps running (stopped after 20 s)" still_running

echo "== self-test of the installed app (under Xvfb)"
start=$(date +%s.%N)
check "installed cvstudio --selftest passes" quiet "${XVFB[@]}" "$app" --selftest \
    --screenshot "$work/selftest.png" --summary "$work/selftest.json"
selftest_seconds=$(calc "$(date +%s.%N) - $start")
check "the screenshot is not blank" "$PY" -c "
import os, sys
from PIL import Image, ImageStat
if not os.path.exists(sys.argv[1]):
    sys.exit(f'      no screenshot at {sys.argv[1]}')
image = Image.open(sys.argv[1]).convert('L')
sys.exit(0 if image.width > 800 and ImageStat.Stat(image).stddev[0] > 10 else 1)" "$work/selftest.png"
[ -f "$work/selftest.json" ] && cp "$work/selftest.json" "dist/selftest-$FLAVOUR.json"
[ -f "$work/selftest.png" ] && cp "$work/selftest.png" "dist/selftest-$FLAVOUR.png"

echo "== start-up to the first frame: installed app against the venv app (best of 2 each)"
best_bundle=999 best_venv=999
for _ in 1 2; do
    start=$(date +%s.%N)
    "${XVFB[@]}" "$app" --selftest --summary "$work/b.json" >/dev/null 2>&1 || true
    best_bundle=$(printf '%s\n%s\n' "$best_bundle" "$(first_frame_seconds "$work/b.json" "$start")" | sort -g | head -1)
    start=$(date +%s.%N)
    "${XVFB[@]}" "$PY" -m cvstudio --selftest --summary "$work/v.json" >/dev/null 2>&1 || true
    best_venv=$(printf '%s\n%s\n' "$best_venv" "$(first_frame_seconds "$work/v.json" "$start")" | sort -g | head -1)
done

measured() { [ "$1" != 999 ]; }
check "the installed app's first frame was measured" measured "$best_bundle"
check "the venv app's first frame was measured" measured "$best_venv"

echo "== a plugin package installed into the installed app's plugin folder"
check "cvstudio plugin install builds and installs a project folder" \
    "$app" plugin install plugins/examples/cvstudio-gabor
check "the installed plugin is listed and loads" \
    sh -c "'$app' plugins | grep -q '^cvstudio_gabor  \[entry point\]  ok'"

echo
echo "== figures ($FLAVOUR, torch $TORCH_VERSION; load: $(cut -d' ' -f1-3 /proc/loadavg))"
mb() { echo "$(( $1 / 1000000 )) MB"; }
echo "bundle unpacked:            $(mb "$BUNDLE_BYTES")"
echo "tarball (gzip):             $(mb "$TARBALL_BYTES")  $TARBALL"
echo ".deb:                       $(mb "$DEB_BYTES")  $DEB"
echo "build time:                 $BUILD_SECONDS s"
echo "first frame, installed app: $best_bundle s"
echo "first frame, venv app:      $best_venv s"
echo "ratio installed / venv:     $(calc "$best_bundle / $best_venv")  (goal: at most 1.2; 999: no window)"
echo "--selftest wall time:       $selftest_seconds s"
echo
if [ "$failures" -gt 0 ]; then echo "$failures check(s) FAILED"; exit 1; fi
echo "all checks passed"
