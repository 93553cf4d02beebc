# Shared by scripts/demo and scripts/test: Debian packages and the project's venv.
# Sourced, not run.

PY=${PYTHON:-python3}
VENV=${PUENTE_VENV:-.venv}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $* / se necesita root para: $*" >&2; return 1; fi
}

apt_install() {
  # Installs the Debian packages given that are missing.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages / instalando paquetes: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_venv() {
  # $1: the lock to install from (requirements/lock.txt or requirements/test-lock.txt:
  # exact versions with their hashes, made by scripts/lock); then Puente itself, editable.
  if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "Python 3.11 or newer is needed / se necesita Python 3.11 o superior" >&2; exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && rm -rf "$VENV" && "$PY" -m venv "$VENV"; }
  fi
  "$VENV/bin/python" -m pip install -q --require-hashes -r "$1"
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  "$VENV/bin/python" -m pip check >/dev/null \
    || { "$VENV/bin/python" -m pip check >&2; echo "$1 does not satisfy pyproject.toml: run scripts/lock / no satisface pyproject.toml: ejecute scripts/lock" >&2; exit 1; }
}
