#!/usr/bin/env bash
# Build the Linux desktop bundle: a PyInstaller onedir folder, packed as a tarball and a .deb.
#
#   packaging/build.sh                 bundle the development venv (.venv) with the torch it has
#   TORCH=cpu packaging/build.sh       bundle a CPU-only torch, installed into build/venv-cpu
#
# Variables: TORCH (venv | cpu), VENV (the venv bundled when TORCH=venv, default .venv),
# CPU_VENV (default build/venv-cpu), TORCH_PIP (what pip installs for TORCH=cpu; default: torch and
# torchvision from the PyTorch CPU index), PYTHON (creates CPU_VENV), DEB_COMPRESSION (gzip | xz | zstd, at
# level 6 rather than dpkg-deb's 9, which is much slower on a bundle of gigabytes for little gain).
# Output: dist/cvstudio-<version>-linux-x86_64[-cpu].tar.gz and dist/cvstudio_<version>[+cpu]_amd64.deb;
# build/<flavour>/ keeps PyInstaller's work and the .deb's root; build/<flavour>/figures.env the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TORCH=${TORCH:-venv}
VENV=${VENV:-.venv}
CPU_VENV=${CPU_VENV:-build/venv-cpu}
TORCH_PIP=${TORCH_PIP:-torch torchvision --index-url https://download.pytorch.org/whl/cpu}
PYTHON=${PYTHON:-python3}
DEB_COMPRESSION=${DEB_COMPRESSION:-gzip}
APP_ID=io.github.cvstudio.cvstudio

case "$TORCH" in
    venv)
        PY=$VENV/bin/python
        SUFFIX=""
        ;;
    cpu)
        PY=$CPU_VENV/bin/python
        SUFFIX="-cpu"
        if [ ! -x "$PY" ]; then
            echo "== a CPU build environment in $CPU_VENV: $TORCH_PIP"
            "$PYTHON" -m venv "$CPU_VENV"
            # shellcheck disable=SC2086 # TORCH_PIP is a pip command line
            "$PY" -m pip install --quiet $TORCH_PIP
            "$PY" -m pip install --quiet -r <("$PYTHON" packaging/requirements.py --cpu --without-torch)
        fi
        "$PY" -m pip install --quiet --no-deps --force-reinstall .
        rm -rf build/lib cvstudio.egg-info  # what that install left in the tree; the spec reads the tree first
        ;;
    *)
        echo "TORCH must be venv or cpu, not '$TORCH'" >&2
        exit 2
        ;;
esac
[ -x "$PY" ] || { echo "no Python at $PY: run 'make test' first (it builds .venv), or set VENV" >&2; exit 2; }
"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install --quiet "pyinstaller>=6.10"

VERSION=$("$PY" -c "import cvstudio; print(cvstudio.__version__)")
FLAVOUR=linux-x86_64$SUFFIX
BUILD=build/$FLAVOUR
DEB_ROOT=$BUILD/deb
mkdir -p dist "$BUILD"

echo "== PyInstaller ($TORCH torch: $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none))"
start=$(date +%s)
nice "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$BUILD/dist" --workpath "$BUILD/work" packaging/cvstudio.spec
bundle=$BUILD/dist/cvstudio

echo "== staging the .deb's root"
rm -rf "$DEB_ROOT"
mkdir -p "$DEB_ROOT/opt" "$DEB_ROOT/usr/bin" "$DEB_ROOT/usr/share/applications" "$DEB_ROOT/usr/share/metainfo" \
    "$DEB_ROOT/DEBIAN"
cp -al "$bundle" "$DEB_ROOT/opt/cvstudio"  # hard links: the bundle can be gigabytes
ln -s /opt/cvstudio/cvstudio "$DEB_ROOT/usr/bin/cvstudio"
cp packaging/linux/$APP_ID.desktop "$DEB_ROOT/usr/share/applications/"
cp packaging/linux/$APP_ID.metainfo.xml "$DEB_ROOT/usr/share/metainfo/"
mkdir -p "$DEB_ROOT/usr/share/icons/hicolor/scalable/apps"
cp resources/icons/$APP_ID.svg "$DEB_ROOT/usr/share/icons/hicolor/scalable/apps/"
cp -r resources/icons/hicolor/. "$DEB_ROOT/usr/share/icons/hicolor/"
installed_kb=$(du -sk --exclude=DEBIAN "$DEB_ROOT" | cut -f1)
deb_version=$VERSION${SUFFIX:+"+${SUFFIX#-}"}
cat > "$DEB_ROOT/DEBIAN/control" <<EOF
Package: cvstudio
Version: $deb_version
Architecture: amd64
Maintainer: The cvstudio developers <cvstudio@users.noreply.github.com>
Section: education
Priority: optional
Installed-Size: $installed_kb
Depends: libc6 (>= 2.28), libgl1, libegl1, libfontconfig1, libdbus-1-3, libxkbcommon-x11-0, libxcb-cursor0,
 libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0,
 libxcb-xinerama0, libxcb-xkb1
Homepage: https://github.com/cvstudio/cvstudio
Description: Classical computer vision against deep learning, measured live
 A desktop lab for teaching computer vision: hand-crafted features with an SVM
 against convolutional networks on the same bundled data, with live curves,
 feature maps, ONNX export and plugins. The app and its Python live in
 /opt/cvstudio; no Python installation is needed.
EOF

echo "== packing"
tarball=dist/cvstudio-$VERSION-$FLAVOUR.tar.gz
deb=dist/cvstudio_${deb_version}_amd64.deb
# The tarball holds the bundle as cvstudio-<version>/ and the desktop files under share/, as the .deb has them.
nice tar -C "$ROOT/$DEB_ROOT/opt" --transform "s,^cvstudio,cvstudio-$VERSION," -czf "$tarball" cvstudio \
    -C "$ROOT/$DEB_ROOT/usr" share
nice dpkg-deb --root-owner-group -Z"$DEB_COMPRESSION" -z6 --build "$DEB_ROOT" "$deb" >/dev/null
seconds=$(( $(date +%s) - start ))

cat > "$BUILD/figures.env" <<EOF
VERSION=$VERSION
FLAVOUR=$FLAVOUR
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
BUNDLE=$bundle
TARBALL=$tarball
DEB=$deb
BUNDLE_BYTES=$(du -sb "$bundle" | cut -f1)
TARBALL_BYTES=$(stat -c %s "$tarball")
DEB_BYTES=$(stat -c %s "$deb")
BUILD_SECONDS=$seconds
EOF
echo "== built in ${seconds} s"
cat "$BUILD/figures.env"
