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

step() {
  # A progress line a person can follow: time, then the step in English / Spanish.
  printf '==> %s %s\n' "$(date +%H:%M:%S)" "$*"
}

pip_steps() {
  # Filters pip's output to one line per package fetched, built or installed (no wall of
  # "Requirement already satisfied"), so a long install is never silent; reads stdin.
  local line n=0
  while IFS= read -r line; do
    case "$line" in
      Collecting*|Downloading*|"  Downloading"*|Building*|"  Building"*|Installing*|Successfully*|\
      *ERROR*|*error:*|*Error:*|*WARNING:\ Retrying*)
        n=$((n + 1)); printf '    %s\n' "${line#"${line%%[![:space:]]*}"}" ;;
      "Requirement already satisfied"*)
        n=$((n + 1)); [ $((n % 25)) -eq 0 ] && printf '    ... %d packages checked / revisados\n' "$n" ;;
    esac
  done
  return 0
}

pip_install() {
  # pip install "$@" with a line per package (pip_steps); the whole output is kept and its
  # end shown when pip fails, so an error is never filtered away.
  local - log
  set -o pipefail
  log=$(mktemp)
  if "$VENV/bin/python" -m pip install --progress-bar off "$@" 2>&1 | tee "$log" | pip_steps; then
    rm -f "$log"; return 0
  fi
  echo "pip install failed / pip install falló ($*); its last lines / sus últimas líneas:" >&2
  tail -n 40 "$log" >&2
  rm -f "$log"
  return 1
}

ensure_venv() {
  # $1: the lock to install from (requirements/lock.txt or requirements/test-lock.txt:
  # exact versions with their hashes, made by scripts/lock); then Puente itself, editable.
  if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "Python 3.11 or newer is needed / se necesita Python 3.11 o superior" >&2; exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    step "creating the virtual environment $VENV / creando el entorno virtual $VENV"
    "$PY" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && rm -rf "$VENV" && "$PY" -m venv "$VENV"; }
  fi
  step "installing the locked Python packages of $1 (several minutes the first time) / instalando los paquetes de Python fijados en $1 (varios minutos la primera vez)"
  pip_install --require-hashes -r "$1"
  step "installing Puente / instalando Puente"
  pip_install --no-deps -e .
  "$VENV/bin/python" -m pip check >/dev/null \
    || { "$VENV/bin/python" -m pip check >&2; echo "$1 does not satisfy pyproject.toml: run scripts/lock / no satisface pyproject.toml: ejecute scripts/lock" >&2; exit 1; }
  step "Python packages ready / paquetes de Python listos"
}
