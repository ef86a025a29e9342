#!/usr/bin/env bash
# SequoAlpha: set up (or bring back in line) one Ubuntu EC2 host from this checkout.
# Idempotent: a second run changes nothing that is already right and breaks nothing.
set -euo pipefail

APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly APP_DIR
# shellcheck source=deploy/lib.sh
source "${APP_DIR}/deploy/lib.sh"

readonly ENV_FILE="${BACKEND}/.env"
readonly NGINX_SITE="/etc/nginx/sites-available/${SERVICE}"
readonly NGINX_SNIPPET="/etc/nginx/snippets/${SERVICE}-security-headers.conf"
readonly UNIT_FILE="/etc/systemd/system/${SERVICE}.service"
readonly ACME_ROOT="/var/www/letsencrypt"
readonly DB_NAME="sequoalpha"
readonly DB_ROLE="sequoalpha"

# Options (see usage): parse_args sets them, main makes them readonly before anything else runs.
DOMAIN=""
LETSENCRYPT_EMAIL=""
ADMIN_EMAIL=""
ADMIN_USERNAME=""
CONFIGS_ONLY=0
USE_UFW=1
# One of several app hosts (README "Scaling out"): the shared database and S3, the load balancer.
DATABASE_URL_OPT=""
EXTERNAL_DB=0
S3_ONLY=0
S3_BUCKET_OPT=""
REAL_IP_FROM=""
APP_SERVERS=""

usage() {
  cat <<USAGE
Usage: sudo ./deploy_ec2.sh [options]

Sets up SequoAlpha on this Ubuntu host (24.04 LTS) from the checkout it is run from
(${APP_DIR}): packages, the '${SERVICE_USER}' system user, the PostgreSQL role and database,
backend/venv, backend/.env with generated secrets, migrations, the first admin, the Nginx site,
the systemd service, UFW and, with --domain, a Let's Encrypt certificate. Run it again at any
time: it only changes what is not already right. Settings are kept in ${SEQUOALPHA_DEPLOY_CONF}.

Options
  --domain NAME          serve the site as NAME (DNS must point here) with a certbot certificate
  --email ADDRESS        Let's Encrypt account email (with --domain; recommended)
  --admin-email ADDRESS  create the first admin without prompts; its one-time password is
                         printed once (otherwise you are prompted when no admin exists)
  --admin-username NAME  username of that admin (default: the part of --admin-email before @)
  --no-ufw               leave the firewall alone (the EC2 security group still applies)
  --configs-only         only re-render and reload the Nginx site and the systemd unit
  -h, --help             this help

One of several app hosts (README "Scaling out"); kept for later runs once given:
  --database-url URL     use this PostgreSQL (e.g. RDS, postgresql://user:pw@host:5432/db?sslmode=require)
                         instead of installing one here; '-' reads it from standard input, which
                         keeps the password out of \`ps\`. Written to backend/.env only.
  --s3-only              STORAGE_MODE=s3-only: S3 is the only store (needs a bucket)
  --s3-bucket NAME       S3_BUCKET for backend/.env
  --real-ip-from CIDR    the load balancer's address range: Nginx takes the client's address from
                         X-Forwarded-For on requests from it (repeatable)
  --app-servers LIST     the app servers Nginx proxies to, host:port,host:port (default
                         127.0.0.1:8000, this host's Gunicorn)
USAGE
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --domain) DOMAIN="${2:?--domain needs a name}"; shift 2 ;;
      --email) LETSENCRYPT_EMAIL="${2:?--email needs an address}"; shift 2 ;;
      --admin-email) ADMIN_EMAIL="${2:?--admin-email needs an address}"; shift 2 ;;
      --admin-username) ADMIN_USERNAME="${2:?--admin-username needs a name}"; shift 2 ;;
      --no-ufw) USE_UFW=0; shift ;;
      --configs-only) CONFIGS_ONLY=1; shift ;;
      --database-url) DATABASE_URL_OPT="${2:?--database-url needs a URL}"; shift 2 ;;
      --s3-only) S3_ONLY=1; shift ;;
      --s3-bucket) S3_BUCKET_OPT="${2:?--s3-bucket needs a name}"; shift 2 ;;
      --real-ip-from) REAL_IP_FROM="${REAL_IP_FROM:+${REAL_IP_FROM},}${2:?--real-ip-from needs a CIDR}"; shift 2 ;;
      --app-servers) APP_SERVERS="${2:?--app-servers needs host:port,...}"; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  # Settings of an earlier run apply unless given again.
  DOMAIN="${DOMAIN:-$(conf_get DOMAIN)}"
  LETSENCRYPT_EMAIL="${LETSENCRYPT_EMAIL:-$(conf_get LETSENCRYPT_EMAIL)}"
  if [[ -n "${DOMAIN}" && ! "${DOMAIN}" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    die "--domain: '${DOMAIN}' is not a host name"
  fi
  parse_scaling_args
}

# The options of one of several app hosts: checked, and defaulted from an earlier run.
parse_scaling_args() {
  local item
  if [[ "${DATABASE_URL_OPT}" == "-" ]]; then
    IFS= read -r DATABASE_URL_OPT || true
  fi
  if [[ -n "${DATABASE_URL_OPT}" ]]; then
    [[ "${DATABASE_URL_OPT}" =~ ^postgres(ql)?://[^/@[:space:]]+@[^/[:space:]]+/[^[:space:]]+$ ]] \
      || die "--database-url: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=require]"
    EXTERNAL_DB=1
  fi
  [[ "$(conf_get EXTERNAL_DATABASE)" == "yes" ]] && EXTERNAL_DB=1
  [[ "$(conf_get STORAGE_MODE)" == "s3-only" ]] && S3_ONLY=1
  REAL_IP_FROM="${REAL_IP_FROM:-$(conf_get REAL_IP_FROM)}"
  APP_SERVERS="${APP_SERVERS:-$(conf_get APP_SERVERS 127.0.0.1:8000)}"
  if [[ -n "${S3_BUCKET_OPT}" && ! "${S3_BUCKET_OPT}" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
    die "--s3-bucket: '${S3_BUCKET_OPT}' is not a bucket name"
  fi
  for item in ${REAL_IP_FROM//,/ }; do
    [[ "${item}" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(/[0-9]{1,3})?)$ ]] \
      || die "--real-ip-from: '${item}' is not an address range (e.g. 10.0.0.0/16)"
  done
  for item in ${APP_SERVERS//,/ }; do
    [[ "${item}" =~ ^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\]):[0-9]{1,5}$ ]] \
      || die "--app-servers: '${item}' is not host:port"
  done
}

require_root() {
  [[ "${EUID}" -eq 0 ]] || die "run me as root: sudo ./deploy_ec2.sh $*"
  [[ -f "${APP_DIR}/backend/main.py" ]] || die "${APP_DIR} does not look like a SequoAlpha checkout"
}

install_packages() {
  local -a pkgs=(nginx python3-venv python3-pip curl acl ufw openssl ca-certificates)
  local -a services=(nginx)
  [[ -n "${DOMAIN}" ]] && pkgs+=(certbot)
  # With --database-url the database is elsewhere: only its client (backups, status) here.
  if (( EXTERNAL_DB )); then pkgs+=(postgresql-client); else pkgs+=(postgresql); services+=(postgresql); fi
  local missing=()
  local pkg
  for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed" || missing+=("${pkg}")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  systemctl enable --now "${services[@]}" >/dev/null 2>&1 || systemctl start "${services[@]}"
}

create_system_user() {
  if ! id -u "${SERVICE_USER}" >/dev/null 2>&1; then
    log "creating system user ${SERVICE_USER}"
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin "${SERVICE_USER}"
  fi
}

# The service user and Nginx (www-data) must get through the directories above the checkout
# (Ubuntu's home directories are 0750): grant them search (x) only, with an ACL.
grant_traverse() {
  local dir="${APP_DIR}"
  while [[ "${dir}" != "/" ]]; do
    dir="$(dirname "${dir}")"
    if [[ ! "$(stat -c %a "${dir}")" =~ [1357]$ ]]; then  # others may not search it
      setfacl -m "u:${SERVICE_USER}:--x,u:www-data:--x" "${dir}"
    fi
  done
}

# psql as PostgreSQL's superuser; SQL on standard input (or -c), never a secret in the arguments.
psql_admin() { (cd / && runuser -u postgres -- psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 "$@"); }

# psql_exists ROLE_OR_DATABASE_QUERY NAME: whether the query (with :'name') finds a row.
psql_exists() {
  [[ -n "$(printf '%s\n' "$1" | psql_admin --tuples-only --no-align -v name="$2")" ]]
}

# setup_database ENV_FILE ROLE DATABASE: the role and its database; prints the role's password:
# the one of ENV_FILE's DATABASE_URL, or a new one when there is none yet. The password reaches
# psql on standard input only: an argument would show in `ps` to every user of the host.
setup_database() {
  local env_file="$1" role="$2" database="$3" password="" url quoted
  if [[ -f "${env_file}" ]]; then
    url="$(kv_get "${env_file}" DATABASE_URL)"
    [[ "${url}" =~ ^postgresql[^:]*://[^:]+:([^@]+)@ ]] && password="${BASH_REMATCH[1]}"
    [[ "${password}" == CHANGE_ME* ]] && password=""
  fi
  if [[ -z "${password}" ]] || ! psql_exists "SELECT 1 FROM pg_roles WHERE rolname = :'name'" "${role}"; then
    [[ -n "${password}" ]] || password="$(openssl rand -hex 24)"
    log "setting up PostgreSQL role ${role}"
    # psql's \set takes a quoted value: backslashes and quotes doubled (printf is a builtin).
    quoted="${password//\\/\\\\}"
    quoted="${quoted//\'/\'\'}"
    {
      printf '%s\n' "\\set pw '${quoted}'"
      cat <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
SQL
    } | psql_admin -v role="${role}" >/dev/null
  fi
  if ! psql_exists "SELECT 1 FROM pg_database WHERE datname = :'name'" "${database}"; then
    log "creating database ${database}"
    (cd / && runuser -u postgres -- createdb --owner="${role}" --encoding=UTF8 "${database}")
  fi
  printf '%s\n' "${password}"
}

# database_url PASSWORD: the app's DATABASE_URL on this host.
database_url() { printf 'postgresql://%s:%s@127.0.0.1:5432/%s\n' "${DB_ROLE}" "$1" "${DB_NAME}"; }

# write_env_file DATABASE_URL: backend/.env from deploy/env.example, with generated secrets; an
# existing file is kept (its DATABASE_URL is set if it still says CHANGE_ME).
write_env_file() {
  local db_url="$1"
  if [[ ! -f "${ENV_FILE}" ]]; then
    log "writing ${ENV_FILE} (generated secrets, mode 0600)"
    local tmp
    tmp="$(mktemp "${ENV_FILE}.XXXXXX")"
    cp "${APP_DIR}/deploy/env.example" "${tmp}"
    kv_set "${tmp}" SECRET_KEY "$(openssl rand -base64 48 | tr -d '\n/+=')"
    kv_set "${tmp}" JWT_SECRET_KEY "$(openssl rand -base64 48 | tr -d '\n/+=')"
    kv_set "${tmp}" DATABASE_URL "${db_url}"
    kv_set "${tmp}" UPLOAD_FOLDER "${BACKEND}/uploads"
    mv -f "${tmp}" "${ENV_FILE}"
  elif [[ "$(kv_get "${ENV_FILE}" DATABASE_URL)" == *CHANGE_ME* ]]; then
    kv_set "${ENV_FILE}" DATABASE_URL "${db_url}"
  fi
  apply_scaling_settings "${ENV_FILE}"
  set_cookie_secure
}

# apply_scaling_settings ENV_FILE: --database-url, --s3-bucket and --s3-only into the app's
# settings (an operator's own values are kept otherwise).
apply_scaling_settings() {
  local env_file="$1"
  [[ -n "${DATABASE_URL_OPT}" ]] && kv_set "${env_file}" DATABASE_URL "${DATABASE_URL_OPT}"
  local url
  url="$(kv_get "${env_file}" DATABASE_URL)"
  if (( EXTERNAL_DB )) && [[ -z "${url}" || "${url}" == *CHANGE_ME* ]]; then
    die "the database is external but ${env_file} has no DATABASE_URL: give --database-url"
  fi
  [[ -n "${S3_BUCKET_OPT}" ]] && kv_set "${env_file}" S3_BUCKET "${S3_BUCKET_OPT}"
  if (( S3_ONLY )); then
    [[ -n "$(kv_get "${env_file}" S3_BUCKET)" ]] || die "--s3-only needs a bucket: give --s3-bucket NAME"
    kv_set "${env_file}" STORAGE_MODE s3-only
  fi
  return 0
}

# Secure cookies need HTTPS: without a certificate yet, browsers could not sign in.
set_cookie_secure() {
  local secure="false"
  [[ "$(tls_ready)" == "yes" ]] && secure="true"
  [[ "$(kv_get "${ENV_FILE}" COOKIE_SECURE)" == "${secure}" ]] || kv_set "${ENV_FILE}" COOKIE_SECURE "${secure}"
  set_public_url
  chown "${SERVICE_USER}:${SERVICE_USER}" "${ENV_FILE}"
  chmod 0600 "${ENV_FILE}"
}

# PUBLIC_URL from the domain (https once the certificate is there); an operator's own value is kept.
set_public_url() {
  local scheme="http"
  [[ "$(tls_ready)" == "yes" ]] && scheme="https"
  if [[ "$(kv_get "${ENV_FILE}" PUBLIC_URL)" == "http://${DOMAIN}" && "${scheme}" == "https" ]]; then
    kv_set "${ENV_FILE}" PUBLIC_URL "https://${DOMAIN}"
  fi
  ensure_public_url "${ENV_FILE}" "${scheme}://${DOMAIN:-localhost}"
}

upload_dir() { kv_get "${ENV_FILE}" UPLOAD_FOLDER "${BACKEND}/uploads"; }

# Owned by the service user, group www-data (setgid) so that Nginx can send X-Accel downloads.
setup_upload_dir() {
  local dir
  dir="$(upload_dir)"
  install -d -o "${SERVICE_USER}" -g www-data -m 2750 "${dir}"
  if [[ -n "$(find "${dir}" \( ! -user "${SERVICE_USER}" -o ! -group www-data \) -print -quit)" ]]; then
    chown -R "${SERVICE_USER}:www-data" "${dir}"
    find "${dir}" -type d -exec chmod 2750 {} + -o -type f -exec chmod 0640 {} +
  fi
  # The checkout's owner may read it too (git status sees backend/uploads/.gitkeep; ./manage.sh
  # status without sudo), now and for the files to come.
  setfacl -R -m "u:$(repo_owner):rX" "${dir}"
  setfacl -m "d:u:$(repo_owner):rX" "${dir}"
}

# The runtime only (requirements.txt): a production host has no test or lint tools.
setup_venv() { ensure_venv "${VENV}" "${REQUIREMENTS}" || true; }

run_migrations() {
  log "applying database migrations"
  flask_cli db upgrade
}

admin_exists() {
  local query='SELECT 1 FROM users WHERE is_admin LIMIT 1'
  if (( EXTERNAL_DB )); then
    [[ "$(pg_run "$(kv_get "${ENV_FILE}" DATABASE_URL)" psql --no-psqlrc -tAc "${query}" 2>/dev/null)" == "1" ]]
  else
    [[ "$(psql_admin -d "${DB_NAME}" -tAc "${query}" 2>/dev/null)" == "1" ]]
  fi
}

create_first_admin() {
  if admin_exists; then
    return 0
  fi
  if [[ -n "${ADMIN_EMAIL}" ]]; then
    local username="${ADMIN_USERNAME:-${ADMIN_EMAIL%%@*}}" password
    password="$(openssl rand -base64 24 | tr -d '\n/+=')"
    printf '%s\n' "${password}" | flask_cli create-admin --username "${username}" \
      --email "${ADMIN_EMAIL}" --password-stdin >&2
    printf '\n  First admin: %s   one-time password: %s\n  (shown once; change it after signing in)\n\n' \
      "${username}" "${password}"
  elif [[ -t 0 ]]; then
    log "no admin account yet: creating one"
    flask_cli create-admin
  else
    log "no admin account yet: run ./manage.sh create-admin (or deploy_ec2.sh --admin-email ...)"
  fi
}

# "yes" when the domain's certificate exists.
tls_ready() {
  if [[ -n "${DOMAIN}" && -f "/etc/letsencrypt/live/${DOMAIN}/fullchain.pem" ]]; then
    echo yes
  else
    echo no
  fi
}

# install_if_changed SRC DEST MODE: copy only when different; returns 0 when it copied.
install_if_changed() {
  if [[ -f "$2" ]] && cmp -s "$1" "$2"; then
    return 1
  fi
  install -m "$3" "$1" "$2"
}

# Nginx's worker_connections (the main nginx.conf's events block; Debian ships 768) bounds
# all open connections; each proxied request takes two. Raise it to 4096, and the workers'
# file limit with it, so that the site's per-address limit_conn is what a flood meets first.
# Succeeds only when it changed the file (then Nginx needs a reload).
tune_nginx_events() {
  local conf=/etc/nginx/nginx.conf before
  [[ -f "${conf}" ]] || return 1
  before="$(cat "${conf}")"
  sed -i -E 's/^([[:space:]]*worker_connections)[[:space:]]+[0-9]+;/\1 4096;/' "${conf}"
  grep -qE '^[[:space:]]*worker_rlimit_nofile' "${conf}" \
    || sed -i -E 's/^(worker_processes[^;]*;)/\1\nworker_rlimit_nofile 10240;/' "${conf}"
  [[ "$(cat "${conf}")" != "${before}" ]]
}

# Sign-ins Nginx lets through at once (the site's sequoalpha_signins cap): one per core, as bcrypt
# is CPU-bound, and always fewer than Gunicorn's workers (deploy/gunicorn.conf.py: GUNICORN_WORKERS,
# else 2 x cores + 1, at most 12), so that the rest of the API keeps workers during a login flood.
signin_slots() {
  local cores workers
  cores="$(nproc)"
  workers="$(kv_get "${ENV_FILE}" GUNICORN_WORKERS "")"
  [[ "${workers}" =~ ^[0-9]+$ ]] || workers=$((2 * cores + 1 > 12 ? 12 : 2 * cores + 1))
  if ((cores < workers)); then echo "${cores}"; elif ((workers > 1)); then echo $((workers - 1)); else echo 1; fi
}

# Render the site and snippet, check them with nginx -t, and reload; the old files come back
# if the check fails.
configure_nginx() {
  local tls server_name work
  tls="$(tls_ready)"
  # Without a domain, the site answers to any IPv4 address (an instance's changes on restart)
  # and to localhost; with one, to that name only. Other names get the 444 default server.
  server_name='localhost "~^[0-9.]+$"'
  [[ -n "${DOMAIN}" ]] && server_name="${DOMAIN}"
  work="$(mktemp -d)"
  "${APP_DIR}/deploy/render.sh" "${APP_DIR}/deploy/nginx/security-headers.conf" > "${work}/snippet"
  "${APP_DIR}/deploy/render.sh" "${APP_DIR}/deploy/nginx/sequoalpha.conf" \
    APP_DIR="${APP_DIR}" UPLOAD_DIR="$(upload_dir)" SERVER_NAME="${server_name}" \
    NGINX_SNIPPETS=/etc/nginx/snippets UPSTREAM="${APP_SERVERS}" REAL_IP_FROM="${REAL_IP_FROM}" \
    MAX_UPLOAD_MB="$(kv_get "${ENV_FILE}" MAX_UPLOAD_MB 50)" SIGNIN_SLOTS="$(signin_slots)" \
    HTTP_LISTEN=80 HTTP_LISTEN6="[::]:80" HTTPS_LISTEN=443 HTTPS_LISTEN6="[::]:443" \
    TLS="${tls}" SSL_CERT="/etc/letsencrypt/live/${DOMAIN}/fullchain.pem" \
    SSL_KEY="/etc/letsencrypt/live/${DOMAIN}/privkey.pem" ACME_ROOT="${ACME_ROOT}" \
    LOG_DIR=/var/log/nginx > "${work}/site"
  install -d -m 0755 "${ACME_ROOT}"
  cp -a "${NGINX_SITE}" "${work}/site.old" 2>/dev/null || true
  cp -a "${NGINX_SNIPPET}" "${work}/snippet.old" 2>/dev/null || true
  local changed=0
  install_if_changed "${work}/snippet" "${NGINX_SNIPPET}" 0644 && changed=1
  install_if_changed "${work}/site" "${NGINX_SITE}" 0644 && changed=1
  ln -sfn "${NGINX_SITE}" "/etc/nginx/sites-enabled/${SERVICE}"
  tune_nginx_events && changed=1
  if [[ -L /etc/nginx/sites-enabled/default ]]; then
    log "disabling Nginx's default site (SequoAlpha has its own default server)"
    rm -f /etc/nginx/sites-enabled/default
    changed=1
  fi
  if ! nginx -t -q; then
    [[ -f "${work}/site.old" ]] && cp -a "${work}/site.old" "${NGINX_SITE}"
    [[ -f "${work}/snippet.old" ]] && cp -a "${work}/snippet.old" "${NGINX_SNIPPET}"
    rm -rf "${work}"
    die "nginx -t failed: the previous Nginx configuration is back in place"
  fi
  rm -rf "${work}"
  if (( changed )); then
    log "reloading Nginx"
    systemctl reload nginx
  fi
}

configure_systemd() {
  local work changed=0
  work="$(mktemp)"
  "${APP_DIR}/deploy/render.sh" "${APP_DIR}/deploy/systemd/sequoalpha.service" \
    APP_DIR="${APP_DIR}" UPLOAD_DIR="$(upload_dir)" > "${work}"
  install_if_changed "${work}" "${UNIT_FILE}" 0644 && changed=1
  rm -f "${work}"
  systemd-analyze verify "${UNIT_FILE}" || die "systemd-analyze verify ${UNIT_FILE} failed"
  if (( changed )); then
    systemctl daemon-reload
  fi
  systemctl enable --quiet "${SERVICE}"
  if ! systemctl is-active --quiet "${SERVICE}"; then
    log "starting ${SERVICE}"
    systemctl start "${SERVICE}"
  elif (( changed )); then
    log "unit changed: restarting ${SERVICE}"
    systemctl restart "${SERVICE}"
  fi
  configure_mail_service
}

# The mail worker's unit (sequoalpha-mail.service): installed, enabled, (re)started like the app's.
configure_mail_service() {
  local work unit="/etc/systemd/system/${MAIL_SERVICE}.service" changed=0
  work="$(mktemp)"
  "${APP_DIR}/deploy/render.sh" "${APP_DIR}/deploy/systemd/${MAIL_SERVICE}.service" APP_DIR="${APP_DIR}" > "${work}"
  install_if_changed "${work}" "${unit}" 0644 && changed=1
  rm -f "${work}"
  systemd-analyze verify "${unit}" || die "systemd-analyze verify ${unit} failed"
  (( changed )) && systemctl daemon-reload
  systemctl enable --quiet "${MAIL_SERVICE}"
  if ! systemctl is-active --quiet "${MAIL_SERVICE}"; then
    log "starting ${MAIL_SERVICE}"
    systemctl start "${MAIL_SERVICE}" || log "${MAIL_SERVICE} did not start: see ./manage.sh status (mail settings in ${ENV_FILE})"
  elif (( changed )); then
    systemctl restart "${MAIL_SERVICE}"
  fi
}

configure_ufw() {
  (( USE_UFW )) || return 0
  ufw allow OpenSSH >/dev/null
  ufw allow 'Nginx Full' >/dev/null
  if ! ufw status | grep -q '^Status: active'; then
    log "enabling UFW (SSH, HTTP, HTTPS)"
    ufw --force enable >/dev/null
  fi
}

# With --domain: a certificate through the HTTP-01 webroot challenge, then the TLS site.
obtain_certificate() {
  [[ -n "${DOMAIN}" ]] || return 0
  [[ "$(tls_ready)" == "yes" ]] && return 0
  log "requesting a Let's Encrypt certificate for ${DOMAIN}"
  local -a account=(--register-unsafely-without-email)
  [[ -n "${LETSENCRYPT_EMAIL}" ]] && account=(--email "${LETSENCRYPT_EMAIL}")
  if ! certbot certonly --webroot -w "${ACME_ROOT}" -d "${DOMAIN}" --agree-tos --non-interactive \
      "${account[@]}"; then
    log "certbot failed (does ${DOMAIN} resolve to this host, is port 80 open?): staying on HTTP"
    return 0
  fi
  install -d /etc/letsencrypt/renewal-hooks/deploy
  printf '#!/bin/sh\nsystemctl reload nginx\n' > /etc/letsencrypt/renewal-hooks/deploy/sequoalpha-nginx
  chmod 0755 /etc/letsencrypt/renewal-hooks/deploy/sequoalpha-nginx
  configure_nginx
  # Secure cookies from now on; systemd reads backend/.env only when it starts the service.
  set_cookie_secure
  systemctl restart "${SERVICE}"
  systemctl try-restart "${MAIL_SERVICE}" || true
}

save_settings() {
  install -d -m 0755 "$(dirname "${SEQUOALPHA_DEPLOY_CONF}")"
  local tmp
  tmp="$(mktemp)"
  printf 'APP_DIR=%s\nDOMAIN=%s\nLETSENCRYPT_EMAIL=%s\nTLS=%s\n' \
    "${APP_DIR}" "${DOMAIN}" "${LETSENCRYPT_EMAIL}" "$(tls_ready)" > "${tmp}"
  # The database URL holds a password: it lives in backend/.env (0600) only, never here (0644).
  printf 'EXTERNAL_DATABASE=%s\nSTORAGE_MODE=%s\nREAL_IP_FROM=%s\nAPP_SERVERS=%s\n' \
    "$( (( EXTERNAL_DB )) && echo yes || echo no)" "$( (( S3_ONLY )) && echo s3-only || echo fallback)" \
    "${REAL_IP_FROM}" "${APP_SERVERS}" >> "${tmp}"
  install_if_changed "${tmp}" "${SEQUOALPHA_DEPLOY_CONF}" 0644 || true
  rm -f "${tmp}"
}

check_site() {
  report_health
  log "SequoAlpha is up at $(site_url)/"
}

main() {
  parse_args "$@"
  readonly DOMAIN LETSENCRYPT_EMAIL ADMIN_EMAIL ADMIN_USERNAME CONFIGS_ONLY USE_UFW
  readonly DATABASE_URL_OPT EXTERNAL_DB S3_ONLY S3_BUCKET_OPT REAL_IP_FROM APP_SERVERS
  require_root "$@"
  if (( CONFIGS_ONLY )); then
    configure_nginx
    configure_systemd
    save_settings
    return 0
  fi
  install_packages
  create_system_user
  grant_traverse
  local db_url="${DATABASE_URL_OPT}"
  if (( ! EXTERNAL_DB )); then
    db_url="$(database_url "$(setup_database "${ENV_FILE}" "${DB_ROLE}" "${DB_NAME}")")"
  fi
  write_env_file "${db_url}"
  setup_upload_dir
  setup_venv
  run_migrations
  create_first_admin
  configure_nginx
  configure_systemd
  configure_ufw
  save_settings
  obtain_certificate
  save_settings
  check_site
}

# Run when executed; sourcing defines the functions only (tests call them one at a time).
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
