#!/usr/bin/env bash
# SequoAlpha control script: development, tests and (on the server) operations.
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly APP_DIR
# shellcheck source=deploy/lib.sh
source "${APP_DIR}/deploy/lib.sh"

# Operations settings (environment overrides; tests use them too).
readonly ENV_FILE="${SEQUOALPHA_ENV_FILE:-${BACKEND}/.env}"
readonly BACKUP_DIR="${BACKUP_DIR:-/var/backups/sequoalpha}"
readonly BACKUP_KEEP="${BACKUP_KEEP:-14}"
readonly NGINX_ERROR_LOG="${NGINX_ERROR_LOG:-/var/log/nginx/sequoalpha_error.log}"
# The tests of `check --quick`: none that starts a browser, the stack, faults, fuzzers or benchmarks.
readonly QUICK_TESTS="not browser and not ops and not fault and not fuzz and not bench and not slow"

usage() {
  cat <<USAGE
Usage: ./manage.sh <command> [args]

Development
  dev             set up backend/venv, migrate, and serve the site on http://localhost:8000
  check [--quick] [ARGS]
                  lint, then run the whole test suite (ARGS go to pytest); --quick: only the
                  tests that need no browser, stack, faults, fuzzing or benchmark (under a minute)
  lint            ruff check, ruff format --check, and ShellCheck on every shell script
  bench [ARGS]    benchmark the production stack on loopback ports (Nginx, Gunicorn, a throwaway
                  PostgreSQL, moto as S3) with wrk; prints ratios against same-run baselines
                  (--smoke: a tiny run of under a minute; --help: the options)

Operations (on the server set up by deploy_ec2.sh; they use sudo where needed)
  start           start the ${SERVICE} (Gunicorn) and ${MAIL_SERVICE} services, then check the site answers
  stop            stop both (Nginx keeps serving the static site; /api/ answers 502)
  restart         restart it (a few seconds without service; prefer reload) and reload Nginx
  reload          graceful reload: new workers with the new code, no request dropped
  status          both services, the health answer, database connections against max_connections,
                  disk use of the uploads folder
  logs [ARGS]     follow both services' journal (ARGS go to journalctl, e.g. --since today)
  errors [N]      the last N (50) error lines of the service and of Nginx
  test            smoke-test the running site through Nginx (exit status 1 on a failure)
  backup          a verified database dump + uploads archive, one file (mode 0600) in
                  BACKUP_DIR (${BACKUP_DIR}); keeps the last BACKUP_KEEP (${BACKUP_KEEP})
  restore FILE [--yes]
                  replace the database and the uploads folder with a backup (asks first;
                  a backup of the current state is taken before)
  sync            push every file held only locally to S3 (flask storage sync)
  create-admin [ARGS]
                  create an administrator (prompts; ARGS go to flask create-admin)
  mail [ARGS]     the mail outbox: pending and failed messages with their last error
                  (flask mail status; retry with: flask --app main mail retry --all-failed)

Environment: BACKUP_DIR (${BACKUP_DIR}), BACKUP_KEEP, SEQUOALPHA_ENV_FILE (backend/.env),
DATABASE_URL and UPLOAD_FOLDER (override backend/.env), SEQUOALPHA_URL (the site as Nginx serves
it), GUNICORN_BIND (127.0.0.1:8000).
USAGE
}

# backend/venv with the runtime, test and lint tools (requirements-dev.txt), installed when changed.
ensure_dev_venv() { ensure_venv "${VENV}" "${DEV_REQUIREMENTS}" || true; }

# The shell scripts of the repository, one a line.
shell_scripts() { printf '%s\n' "${APP_DIR}"/*.sh "${APP_DIR}"/deploy/*.sh "${APP_DIR}/.ci/run"; }

cmd_dev() {
  ensure_dev_venv
  flask_cli db upgrade
  flask_cli create-admin --first-run
  echo "SequoAlpha is running on http://localhost:${PORT:-8000} (Ctrl-C stops it; use localhost, not 127.0.0.1: passkeys need the name)" >&2
  # The mail worker runs in the same process (console backend: messages show here).
  SEQUOALPHA_MAIL_WORKER_THREAD=1 flask_cli run --host 127.0.0.1 --port "${PORT:-8000}"
}

# Every check runs, then the status says whether any found something.
cmd_lint() {
  ensure_dev_venv
  command -v shellcheck >/dev/null || die "shellcheck is not installed (apt-get install shellcheck)"
  cd "${APP_DIR}"
  local failed=0 scripts
  mapfile -t scripts < <(shell_scripts)
  "${VENV}/bin/ruff" check --quiet --output-format=concise . || failed=1
  "${VENV}/bin/ruff" format --check --quiet . || failed=1
  shellcheck --external-sources "${scripts[@]}" || failed=1
  (( failed == 0 )) || die "lint found problems (above)"
  log "lint: clean"
}

cmd_check() {
  local -a marks=()
  if [[ "${1:-}" == "--quick" ]]; then
    marks=(-m "${QUICK_TESTS}")
    shift
  fi
  cmd_lint
  cd "${APP_DIR}"
  if ((${#marks[@]})); then
    # The PostgreSQL variants need a minute of CPU on their own: the quick tier is SQLite only,
    # spread over every core (pytest-xdist). The whole suite runs in one process, where the
    # log-hygiene and reliability figures see every test.
    env -u TEST_DATABASE_URL "${VENV}/bin/python" -m pytest -n auto "${marks[@]}" "$@"
  else
    "${VENV}/bin/python" -m pytest "$@"
  fi
}

cmd_bench() {
  ensure_dev_venv
  cd "${APP_DIR}"
  "${VENV}/bin/python" -m tests.bench "$@"
}

# ---- Operations --------------------------------------------------------------------------

# A setting of the app: the environment first, then backend/.env (python-dotenv's order).
app_setting() {
  local key="$1" default="${2:-}"
  if [[ -n "${!key:-}" ]]; then printf '%s\n' "${!key}"; else kv_get "${ENV_FILE}" "${key}" "${default}"; fi
}

# Re-run this command as root, keeping the settings given in the environment.
need_root() {
  [[ "${EUID}" -eq 0 ]] && return 0
  exec sudo --preserve-env=BACKUP_DIR,BACKUP_KEEP,BACKUP_BEFORE_RESTORE,SEQUOALPHA_ENV_FILE,SEQUOALPHA_DEPLOY_CONF,SEQUOALPHA_URL,DATABASE_URL,UPLOAD_FOLDER \
    "${APP_DIR}/manage.sh" "$@"
}

service_active() { as_root systemctl is-active --quiet "${SERVICE}" 2>/dev/null; }

# The database URL without its password, for messages.
db_label() { app_setting DATABASE_URL | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'; }

# The mail worker does not hold up the site: a failure to start it is reported, not fatal.
start_mail_service() {
  as_root systemctl "${1:-start}" "${MAIL_SERVICE}" \
    || log "${MAIL_SERVICE} did not start (mail settings?): ./manage.sh logs --unit ${MAIL_SERVICE}"
}

cmd_start() {
  as_root systemctl start "${SERVICE}"
  start_mail_service
  report_health
}

cmd_stop() {
  as_root systemctl stop "${SERVICE}" "${MAIL_SERVICE}"
  log "${SERVICE} and ${MAIL_SERVICE} stopped (mail waits in the outbox) (Nginx answers 502 to /api/ until ./manage.sh start)"
}

cmd_restart() {
  as_root nginx -t -q || die "nginx -t failed: Nginx left as it is"
  as_root systemctl restart "${SERVICE}"
  start_mail_service restart
  as_root systemctl reload nginx
  report_health
}

cmd_reload() {
  as_root nginx -t -q || die "nginx -t failed: Nginx left as it is"
  as_root systemctl reload "${SERVICE}"
  as_root systemctl reload nginx
  sleep 2  # the HUP returns at once; the new workers take a moment to load the app
  report_health
}

# Client connections in use on the database server against its max_connections: the budget of
# README's "Scaling out" (hosts x workers x (pool_size + max_overflow) + mail workers + maintenance).
database_connections() {
  local url
  url="$(app_setting DATABASE_URL)"
  if [[ ! "${url}" =~ ^postgres ]]; then
    echo "not PostgreSQL: no connection budget"
    return 0
  fi
  pg_run "${url}" psql --no-psqlrc --quiet --tuples-only --no-align -v ON_ERROR_STOP=1 -c \
    "SELECT count(*) || ' in use of max_connections ' || current_setting('max_connections')
            || ' (' || count(*) FILTER (WHERE datname = current_database()) || ' on this database)'
       FROM pg_stat_activity WHERE backend_type = 'client backend'"
}

cmd_status() {
  as_root systemctl status --no-pager --lines=0 "${SERVICE}" "${MAIL_SERVICE}" nginx || true
  echo
  echo "Mail outbox:"
  flask_cli mail status --failed 5 2>&1 | sed 's/^/  /' || true
  echo
  echo "Health ($(site_url)/api/health):"
  site_curl /api/health || echo "  no answer"
  echo
  echo "Database connections ($(db_label)):"
  database_connections 2>&1 | sed 's/^/  /' || true
  echo
  local uploads
  uploads="$(app_setting UPLOAD_FOLDER "${BACKEND}/uploads")"
  echo "Uploads folder ${uploads}:"
  echo "  $(as_root du -sh "${uploads}" | cut -f1) in $(as_root find "${uploads}" -type f ! -name .gitkeep | wc -l) files"
  df -h "${uploads}" | sed 's/^/  /'
}

cmd_logs() {
  if [[ $# -eq 0 ]]; then set -- --follow --lines=100; fi
  as_root journalctl --unit "${SERVICE}" --unit "${MAIL_SERVICE}" --no-pager "$@"
}

# The outbox: pending and failed messages (ARGS go to flask mail status, e.g. --failed 50).
cmd_mail() { flask_cli mail status "$@"; }

cmd_errors() {
  local n="${1:-50}"
  [[ "${n}" =~ ^[0-9]+$ ]] || die "errors: N must be a number"
  echo "== ${SERVICE} (journal): the last ${n} error lines"
  as_root journalctl --unit "${SERVICE}" --no-pager --output=short-iso --lines=20000 \
    | grep -E -i 'error|critical|traceback|exception|failed|" 5[0-9]{2} ' | tail -n "${n}" || true
  echo "== Nginx (${NGINX_ERROR_LOG}): the last ${n} lines"
  as_root tail -n "${n}" "${NGINX_ERROR_LOG}" 2>/dev/null || echo "(no such file)"
}

# smoke NAME EXPECTED_STATUS PATH [HEADER_REGEX [CURL ARGS...]]: one request through Nginx;
# fails when the answer is not the one expected.
smoke() {
  local name="$1" want="$2" path="$3" header="${4:-}" got headers
  shift $(( $# < 4 ? $# : 4 ))
  headers="$(mktemp)"
  got="$(site_curl "${path}" --output /dev/null --dump-header "${headers}" --write-out '%{http_code}' "$@" 2>/dev/null || true)"
  if [[ "${got}" == "${want}" ]] && { [[ -z "${header}" ]] || grep -qiE "${header}" "${headers}"; }; then
    printf '  ok    %-44s %s %s\n' "${name}" "${got}" "${path}"
  else
    printf '  FAIL  %-44s got %s, want %s %s\n' "${name}" "${got:-no answer}" "${want}" "${header:+(and ${header})}"
    rm -f "${headers}"
    return 1
  fi
  rm -f "${headers}"
}

cmd_test() {
  local failed=0 gunicorn="${GUNICORN_BIND:-127.0.0.1:8000}"
  echo "Through Nginx at $(site_url):"
  smoke "home page, with security headers" 200 / '^content-security-policy:' || failed=1
  smoke "stylesheet" 200 /css/site.css '^cache-control: public' || failed=1
  smoke "health: database reachable" 200 /api/health '^content-type: application/json' || failed=1
  smoke "OpenAPI document" 200 /api/openapi.json || failed=1
  smoke "unknown API path is a JSON 404" 404 /api/no-such-endpoint '^content-type: application/json' || failed=1
  smoke "sign-in validates its input (POST proxied)" 422 /api/login '^content-type: application/json' \
    --header 'Content-Type: application/json' --data '{}' || failed=1
  smoke "backend/ is not public" 404 /backend/.env || failed=1
  smoke "dotfiles are not public" 404 /.git/config || failed=1
  smoke "/_protected/ is internal" 404 /_protected/ || failed=1
  echo "Directly (Gunicorn on ${gunicorn}):"
  if curl --silent --fail --max-time 5 --output /dev/null "http://${gunicorn}/api/health"; then
    printf '  ok    %-44s\n' "Gunicorn answers /api/health"
  else
    printf '  FAIL  %-44s\n' "Gunicorn answers /api/health"
    failed=1
  fi
  (( failed == 0 )) || die "smoke test failed"
  echo "All good."
}

cmd_backup() {
  need_root backup "$@"
  local url uploads stamp work out
  url="$(app_setting DATABASE_URL)"
  [[ -n "${url}" ]] || die "no DATABASE_URL (in ${ENV_FILE} or the environment)"
  uploads="$(app_setting UPLOAD_FOLDER "${BACKEND}/uploads")"
  [[ -d "${uploads}" ]] || die "no uploads folder at ${uploads}"
  [[ "${BACKUP_KEEP}" =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a positive number"
  umask 077
  install -d -m 0700 "${BACKUP_DIR}"
  stamp="$(date -u +%Y%m%d-%H%M%SZ)"
  work="$(mktemp -d "${BACKUP_DIR}/.backup-${stamp}-XXXXXX")"
  # shellcheck disable=SC2064  # expand now: ${work} is local
  trap "rm -rf '${work}'" EXIT
  log "dumping $(db_label)"
  pg_run "${url}" pg_dump --format=custom --file="${work}/database.pgdump"
  pg_restore --list "${work}/database.pgdump" >/dev/null || die "the dump just written is not readable"
  log "archiving ${uploads}"
  tar -C "${uploads}" -czf "${work}/uploads.tar.gz" .
  tar -tzf "${work}/uploads.tar.gz" >/dev/null || die "the uploads archive just written is not readable"
  {
    echo "sequoalpha-backup 1"
    echo "created ${stamp}"
    echo "host $(hostname)"
    echo "commit $(git -C "${APP_DIR}" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "files $(tar -tzf "${work}/uploads.tar.gz" | grep -cv '/$' || true)"
    (cd "${work}" && sha256sum database.pgdump uploads.tar.gz)
  } > "${work}/MANIFEST"
  out="${BACKUP_DIR}/sequoalpha-${stamp}.tar"
  tar -C "${work}" -cf "${out}.partial" MANIFEST database.pgdump uploads.tar.gz
  chmod 0600 "${out}.partial"
  mv -f "${out}.partial" "${out}"
  # Keep the newest BACKUP_KEEP backups (the names sort by time).
  find "${BACKUP_DIR}" -maxdepth 1 -name 'sequoalpha-*.tar' -printf '%f\n' | sort -r \
    | tail -n +"$((BACKUP_KEEP + 1))" | while read -r old; do rm -f "${BACKUP_DIR}/${old}"; done
  log "backup written: ${out} ($(du -h "${out}" | cut -f1))"
  printf '%s\n' "${out}"
}

cmd_restore() {
  need_root restore "$@"
  local file="" yes=0 arg
  for arg in "$@"; do
    case "${arg}" in
      -y|--yes) yes=1 ;;
      -*) die "restore: unknown option ${arg}" ;;
      *) file="${arg}" ;;
    esac
  done
  [[ -n "${file}" ]] || die "restore: which backup? (./manage.sh restore FILE)"
  [[ -f "${file}" ]] || die "restore: no such file: ${file}"
  local url uploads work
  url="$(app_setting DATABASE_URL)"
  [[ -n "${url}" ]] || die "no DATABASE_URL (in ${ENV_FILE} or the environment)"
  uploads="$(app_setting UPLOAD_FOLDER "${BACKEND}/uploads")"
  work="$(mktemp -d)"
  # shellcheck disable=SC2064  # expand now: ${work} is local
  trap "rm -rf '${work}'" EXIT
  tar -C "${work}" -xf "${file}" MANIFEST database.pgdump uploads.tar.gz 2>/dev/null \
    || die "${file} is not a SequoAlpha backup"
  (cd "${work}" && tail -n 2 MANIFEST | sha256sum --check --quiet) || die "${file} is damaged (checksums differ)"
  pg_restore --list "${work}/database.pgdump" >/dev/null || die "the dump in ${file} is not readable"
  echo "Backup ${file}: taken $(sed -n 's/^created //p' "${work}/MANIFEST"), $(sed -n 's/^files //p' "${work}/MANIFEST") files."
  echo "This REPLACES the database $(db_label) and everything in ${uploads}."
  if (( ! yes )); then
    [[ -t 0 ]] || die "restore: not a terminal; pass --yes to confirm"
    local answer
    read -r -p "Type 'restore' to go on: " answer
    [[ "${answer}" == "restore" ]] || die "cancelled; nothing changed"
  fi
  if [[ "${BACKUP_BEFORE_RESTORE:-yes}" != "no" ]]; then
    # Kept apart, so that its rotation never removes the backup being restored.
    log "first, a backup of the current state into ${BACKUP_DIR}/pre-restore"
    env BACKUP_DIR="${BACKUP_DIR}/pre-restore" "${APP_DIR}/manage.sh" backup >/dev/null
  fi
  local was_active=0
  if service_active; then
    was_active=1
    as_root systemctl stop "${SERVICE}"
  fi
  log "restoring the database"
  pg_run "${url}" pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
    --exit-on-error "${work}/database.pgdump"
  log "restoring ${uploads}"
  install -d "${uploads}"
  find "${uploads}" -mindepth 1 -delete
  tar -C "${uploads}" --no-same-owner -xzf "${work}/uploads.tar.gz"
  chown -R --reference="${uploads}" "${uploads}"
  if (( was_active )); then
    as_root systemctl start "${SERVICE}"
    report_health
  fi
  log "restored ${file}"
}

cmd_sync() { flask_cli storage sync "$@"; }

cmd_create_admin() { flask_cli create-admin "$@"; }

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    dev) cmd_dev "$@" ;;
    check) cmd_check "$@" ;;
    lint) cmd_lint ;;
    bench) cmd_bench "$@" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_restart ;;
    reload) cmd_reload ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    errors) cmd_errors "$@" ;;
    test) cmd_test ;;
    backup) cmd_backup "$@" ;;
    restore) cmd_restore "$@" ;;
    sync) cmd_sync "$@" ;;
    create-admin) cmd_create_admin "$@" ;;
    mail) cmd_mail "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
