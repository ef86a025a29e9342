#!/usr/bin/env bash
# SequoAlpha control script: development, tests and (on the server) operations.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BACKEND="${ROOT}/backend"
VENV="${BACKEND}/venv"

usage() {
  cat <<USAGE
Usage: ./manage.sh <command> [args]

Development
  dev             set up backend/venv, migrate, and serve the site on http://127.0.0.1:8000
  check [ARGS]    run the whole test suite (ARGS go to pytest)
USAGE
}

die() { echo "manage.sh: $*" >&2; exit 1; }

# Create backend/venv and install requirements.txt when it changed since the last install.
ensure_venv() {
  if [[ ! -x "${VENV}/bin/python" ]]; then
    python3 -m venv "${VENV}" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  local want have=""
  want="$(sha256sum "${ROOT}/requirements.txt" | cut -d' ' -f1)"
  [[ -f "${VENV}/.requirements.sha256" ]] && have="$(cat "${VENV}/.requirements.sha256")"
  if [[ "${want}" != "${have}" ]]; then
    echo "Installing Python requirements into backend/venv ..." >&2
    "${VENV}/bin/pip" install --quiet --disable-pip-version-check -r "${ROOT}/requirements.txt"
    echo "${want}" > "${VENV}/.requirements.sha256"
  fi
}

flask_cli() { (cd "${BACKEND}" && "${VENV}/bin/flask" --app main "$@"); }

cmd_dev() {
  ensure_venv
  flask_cli db upgrade
  flask_cli create-admin --first-run
  echo "SequoAlpha is running on http://127.0.0.1:${PORT:-8000} (Ctrl-C stops it)" >&2
  flask_cli run --host 127.0.0.1 --port "${PORT:-8000}"
}

cmd_check() {
  ensure_venv
  cd "${ROOT}"
  "${VENV}/bin/python" -m pytest "$@"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    dev) cmd_dev "$@" ;;
    check) cmd_check "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
