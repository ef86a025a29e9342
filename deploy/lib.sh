# shellcheck shell=bash
# Helpers shared by deploy_ec2.sh, update.sh and manage.sh (sourced, never run).
#
# Input: the sourcing script declares `readonly APP_DIR` (the checkout) before it sources this
# file. This file then declares the readonly constants below; functions use nothing else that is
# global, and take everything else as arguments.
#
# Settings of this host, written by deploy_ec2.sh to ${SEQUOALPHA_DEPLOY_CONF}
# (KEY=value lines, no secrets): APP_DIR, DOMAIN, LETSENCRYPT_EMAIL, TLS (yes|no).
# Environment overrides (tests, unusual hosts):
#   SEQUOALPHA_DEPLOY_CONF  the settings file            (default /etc/sequoalpha/deploy.conf)
#   SEQUOALPHA_ENV_FILE     the app's environment file   (default <repo>/backend/.env)
#   SEQUOALPHA_URL          where Nginx answers, e.g. http://127.0.0.1:8080 (default: from settings)

: "${APP_DIR:?the script sourcing deploy/lib.sh declares APP_DIR first}"

# shellcheck disable=SC2034  # used by the scripts that source this file
{
  readonly SERVICE="sequoalpha"
  readonly MAIL_SERVICE="sequoalpha-mail"  # the mail worker (flask mail worker)
  readonly SERVICE_USER="sequoalpha"
  readonly SEQUOALPHA_DEPLOY_CONF="${SEQUOALPHA_DEPLOY_CONF:-/etc/sequoalpha/deploy.conf}"
  readonly BACKEND="${APP_DIR}/backend"
  readonly VENV="${BACKEND}/venv"
  # What a production host installs, and that plus the test and lint tools.
  readonly REQUIREMENTS="${APP_DIR}/requirements.txt"
  readonly DEV_REQUIREMENTS="${APP_DIR}/requirements-dev.txt"
}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ "${EUID}" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Run a command as the app's system user (for the Flask CLI: it reads backend/.env, which only
# that user and root may read); as ourselves when that user does not exist (development, tests).
as_app_user() {
  if id -u "${SERVICE_USER}" >/dev/null 2>&1 && [[ "$(id -un)" != "${SERVICE_USER}" ]]; then
    as_root runuser -u "${SERVICE_USER}" -- env PYTHONDONTWRITEBYTECODE=1 "$@"
  else
    "$@"
  fi
}

# The owner of the checkout runs git and pip; root owns nothing in it.
repo_owner() { stat -c %U "${APP_DIR}"; }
as_owner() {
  if [[ "$(id -un)" == "$(repo_owner)" ]]; then "$@"; else as_root sudo -H -u "$(repo_owner)" -- "$@"; fi
}

flask_cli() { (cd "${BACKEND}" && as_app_user "${VENV}/bin/flask" --app main "$@"); }

# requirement_files FILE: FILE and the files it includes with "-r NAME" (recursively), one a line.
requirement_files() {
  local file="$1" included
  printf '%s\n' "${file}"
  sed -nE 's/^[[:space:]]*(-r|--requirement)[[:space:]=]+([^[:space:]#]+).*/\2/p' "${file}" \
    | while read -r included; do requirement_files "$(dirname "${file}")/${included}"; done
}

# requirements_marker VENV FILE: where VENV records the hash of FILE as last installed.
requirements_marker() { printf '%s/.%s.sha256\n' "$1" "$(basename "$2" .txt)"; }

# requirements_hash FILE: covers FILE and every file it includes.
requirements_hash() {
  local files
  mapfile -t files < <(requirement_files "$1")
  cat "${files[@]}" | sha256sum | cut -d' ' -f1
}

# ensure_venv VENV FILE: create VENV (as the checkout's owner) when missing, and pip install -r
# FILE when FILE, or a file it includes, changed since it was installed. Each file installed gets
# its own marker, so a venv installed from requirements-dev.txt counts as installed from
# requirements.txt too, and switching between them installs only what is missing.
# Succeeds only when it installed something (the caller may then need a restart).
ensure_venv() {
  local venv="$1" file="$2" have="" included
  if [[ ! -x "${venv}/bin/python" ]]; then
    log "creating ${venv}"
    as_owner python3 -m venv "${venv}" \
      || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  [[ -f "$(requirements_marker "${venv}" "${file}")" ]] && have="$(cat "$(requirements_marker "${venv}" "${file}")")"
  [[ "$(requirements_hash "${file}")" != "${have}" ]] || return 1
  log "installing Python requirements ($(basename "${file}"))"
  # The markers are written only after a complete install (callers may test us in an `if`).
  as_owner "${venv}/bin/pip" install --quiet --disable-pip-version-check -r "${file}" \
    || die "pip install -r ${file} failed"
  while read -r included; do
    requirements_hash "${included}" | as_owner tee "$(requirements_marker "${venv}" "${included}")" >/dev/null
  done < <(requirement_files "${file}")
}

# kv_get FILE KEY [DEFAULT]: the value of KEY in a KEY=value file (read as root if need be).
kv_get() {
  local file="$1" key="$2" default="${3:-}" line=""
  if [[ -r "${file}" ]]; then
    line="$(grep -E "^${key}=" "${file}" | tail -n 1 || true)"
  elif [[ -e "${file}" ]]; then
    line="$(as_root grep -E "^${key}=" "${file}" | tail -n 1 || true)"
  fi
  if [[ -n "${line}" ]]; then printf '%s\n' "${line#*=}"; else printf '%s\n' "${default}"; fi
}

# kv_set FILE KEY VALUE: replace KEY's line, or append it; keeps the file's owner and mode.
kv_set() {
  local file="$1" key="$2" value="$3" tmp
  tmp="$(mktemp "${file}.XXXXXX")"
  KV_KEY="${key}" KV_VALUE="${value}" awk '
    BEGIN { key = ENVIRON["KV_KEY"]; line = key "=" ENVIRON["KV_VALUE"] }
    index($0, key "=") == 1 { if (!done) print line; done = 1; next }
    { print }
    END { if (!done) print line }
  ' "${file}" > "${tmp}"
  chmod --reference="${file}" "${tmp}"
  chown --reference="${file}" "${tmp}"
  mv -f "${tmp}" "${file}"
}

# pg_run URL COMMAND [ARGS...]: a PostgreSQL client on DATABASE_URL, the password passed in
# PGPASSWORD (never on a command line, where `ps` would show it).
pg_run() {
  local url="$1" cmd="$2" rest userinfo="" hostpart user password=""
  shift 2
  [[ "${url}" =~ ^postgres(ql)?(\+[A-Za-z0-9_]+)?://(.*)$ ]] || die "DATABASE_URL is not a PostgreSQL URL"
  rest="${BASH_REMATCH[3]}"
  hostpart="${rest}"
  if [[ "${rest}" == *@* ]]; then
    userinfo="${rest%%@*}"
    hostpart="${rest#*@}"
  fi
  user="${userinfo%%:*}"
  [[ "${userinfo}" == *:* ]] && password="${userinfo#*:}"
  password="$(printf '%b' "${password//%/\\x}")"
  PGPASSWORD="${password}" "${cmd}" --dbname="postgresql://${user:+${user}@}${hostpart}" "$@"
}

conf_get() { kv_get "${SEQUOALPHA_DEPLOY_CONF}" "$1" "${2:-}"; }

# The base URL of the site as Nginx serves it, and the curl options that reach it on this host.
site_url() {
  if [[ -n "${SEQUOALPHA_URL:-}" ]]; then
    printf '%s\n' "${SEQUOALPHA_URL%/}"
  elif [[ "$(conf_get TLS no)" == "yes" ]]; then
    printf 'https://%s\n' "$(conf_get DOMAIN)"
  else
    printf 'http://%s\n' "$(conf_get DOMAIN localhost)"
  fi
}

# site_curl PATH [CURL ARGS...]: curl through the local Nginx (a domain resolves to 127.0.0.1).
site_curl() {
  local path="$1" url domain
  shift
  url="$(site_url)"
  local -a resolve=()
  if [[ -z "${SEQUOALPHA_URL:-}" ]]; then
    domain="$(conf_get DOMAIN)"
    [[ -n "${domain}" ]] && resolve=(--resolve "${domain}:80:127.0.0.1" --resolve "${domain}:443:127.0.0.1")
  fi
  curl --silent --show-error --max-time 10 "${resolve[@]}" "$@" "${url}${path}"
}

# wait_healthy SECONDS: until GET /api/health through Nginx answers 200; prints the last body.
wait_healthy() {
  local deadline=$((SECONDS + $1)) body=""
  while (( SECONDS < deadline )); do
    if body="$(site_curl /api/health --fail 2>/dev/null)"; then
      printf '%s\n' "${body}"
      return 0
    fi
    sleep 1
  done
  printf '%s\n' "${body}"
  return 1
}

# report_health: wait_healthy 30, then say so, or die pointing at the logs.
report_health() {
  local body
  if body="$(wait_healthy 30)"; then
    log "healthy: ${body}"
  else
    die "no healthy answer from $(site_url)/api/health (${body:-nothing}); see ./manage.sh errors"
  fi
}

# ensure_public_url FILE URL: PUBLIC_URL (the address in e-mail links, required in production)
# added to the app's environment file when it has none; an operator's value is kept.
ensure_public_url() {
  local file="$1" url="$2"
  [[ -f "${file}" && -z "${PUBLIC_URL:-}" ]] || return 0
  [[ -n "$(kv_get "${file}" PUBLIC_URL)" ]] && return 0
  log "PUBLIC_URL=${url} added to ${file} (links in e-mails; edit it if users reach the site elsewhere)"
  # shellcheck disable=SC2016  # expanded by the inner shell
  as_root sh -c 'printf "PUBLIC_URL=%s\n" "$1" >> "$2"' sh "${url}" "${file}"
}
