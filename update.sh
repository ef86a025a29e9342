#!/usr/bin/env bash
# SequoAlpha: deploy the new commits of this checkout with zero downtime, or go back.
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly APP_DIR
# shellcheck source=deploy/lib.sh
source "${APP_DIR}/deploy/lib.sh"

usage() {
  cat <<USAGE
Usage: ./update.sh [--ref REF]

Brings this host to the latest commit of its branch's upstream (or REF, e.g. origin/main),
fast-forward only:
  1. git fetch, then fast-forward (refuses local changes and diverged history);
  2. pip install -r requirements.txt when it changed (the runtime only: no test tools);
  3. a trial load of the new code as the service would run it (gunicorn --check-config);
  4. a backup (./manage.sh backup) when the update brings migrations, then flask db upgrade;
  5. ./deploy_ec2.sh --configs-only when deploy/ changed;
  6. a graceful reload (HUP: no request is dropped) and a health check through Nginx; when
     requirements.txt changed, a restart instead (a few seconds without service).
If step 3 or 6 fails, the previous commit is checked out again and reloaded, and this script
says so and exits non-zero. Migrations already applied are not undone (see README.md, "Deploy on EC2").
Run it as the checkout's owner (it uses sudo) or with sudo.
USAGE
}

git_() { as_owner git -C "${APP_DIR}" "$@"; }

# pip install the runtime when requirements.txt changed. Prints 1 when it installed something:
# the service then needs a restart, not a reload, because Gunicorn's master holds the libraries
# (deploy/gunicorn.conf.py, SHARED_LIBRARIES); 0 otherwise.
install_requirements() {
  if ensure_venv "${VENV}" "${REQUIREMENTS}" >&2; then echo 1; else echo 0; fi
}

# Load the app exactly as a new worker would, before any worker is asked to.
trial_load() {
  (cd "${BACKEND}" && as_app_user env GUNICORN_WORKERS=1 \
    "${VENV}/bin/gunicorn" --config "${APP_DIR}/deploy/gunicorn.conf.py" --check-config)
}

# reload_service RESTART: a graceful reload, or a restart when RESTART is 1 (new libraries).
reload_service() {
  local restart="$1"
  if (( restart )); then
    log "new library versions: restarting ${SERVICE} (a few seconds without service)"
    as_root systemctl restart "${SERVICE}"
  elif as_root systemctl is-active --quiet "${SERVICE}"; then
    as_root systemctl reload "${SERVICE}"
  else
    as_root systemctl restart "${SERVICE}"
  fi
}

# Wait for the new workers (HUP returns at once), then ask Nginx for /api/health.
check_health() {
  sleep 2
  wait_healthy 30 >/dev/null
}

# changed OLD NEW PATH...: whether the commits differ in PATH.
changed() { [[ -n "$(git_ diff --name-only "$1" "$2" -- "${@:3}")" ]]; }

# roll_back OLD REASON RESTART: back to commit OLD, reloaded (restarted when RESTART is 1 or
# when going back installs other libraries); exits 1.
roll_back() {
  local old="$1" reason="$2" restart="$3"
  log "UPDATE FAILED: ${reason}"
  log "going back to $(git_ log -1 --format='%h %s' "${old}")"
  git_ reset --quiet --keep "${old}"
  (( $(install_requirements) )) && restart=1
  reload_service "${restart}"
  if check_health; then
    log "rolled back: the site runs the previous commit again and answers"
  else
    log "rolled back, but the site still does not answer: see ./manage.sh status and errors"
  fi
  exit 1
}

update() {
  local ref="$1" old new restart
  [[ -z "$(git_ status --porcelain --untracked-files=no)" ]] \
    || die "the checkout has local changes (git status); commit or discard them first"
  old="$(git_ rev-parse HEAD)"
  log "fetching"
  git_ fetch --quiet --prune
  [[ -n "${ref}" ]] || ref="$(git_ rev-parse --abbrev-ref --symbolic-full-name '@{upstream}')" \
    || die "this branch has no upstream; give --ref origin/main"
  git_ merge --quiet --ff-only "${ref}" || die "cannot fast-forward to ${ref} (history diverged?)"
  new="$(git_ rev-parse HEAD)"
  if [[ "${old}" == "${new}" ]]; then
    log "already up to date ($(git_ log -1 --format='%h %s'))"
    check_health || die "but the site does not answer: see ./manage.sh status"
    return 0
  fi
  log "updating $(git_ rev-parse --short "${old}") -> $(git_ log -1 --format='%h %s')"

  restart="$(install_requirements)"
  ensure_public_url "${SEQUOALPHA_ENV_FILE:-${BACKEND}/.env}" "$(site_url)"
  trial_load || roll_back "${old}" "the new code does not load (nothing was reloaded)" "${restart}"
  if changed "${old}" "${new}" backend/migrations; then
    log "the update brings migrations: backing up first"
    "${APP_DIR}/manage.sh" backup
  fi
  flask_cli db upgrade || roll_back "${old}" "flask db upgrade failed" "${restart}"
  if changed "${old}" "${new}" deploy/; then
    log "deploy/ changed: applying the Nginx site and systemd unit"
    as_root "${APP_DIR}/deploy_ec2.sh" --configs-only
  fi
  log "reloading gracefully"
  reload_service "${restart}"
  as_root systemctl try-restart "${MAIL_SERVICE}" || log "${MAIL_SERVICE} did not restart: see ./manage.sh status"
  check_health || roll_back "${old}" "no healthy answer through Nginx after the reload" "${restart}"
  log "done: $(git_ log -1 --format='%h %s') is live"
}

main() {
  local ref=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --ref) ref="${2:?--ref needs a git ref}"; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  update "${ref}"
}

main "$@"
