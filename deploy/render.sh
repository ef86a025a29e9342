#!/usr/bin/env bash
# Render a shipped template (deploy/nginx/*.conf, deploy/systemd/*.service) for one host.
#
# The one rendering mechanism of deploy/: deploy_ec2.sh, update.sh and tests/ops all use it.
#   @NAME@          is replaced by the value given as NAME=VALUE (verbatim, no escaping needed);
#   #if NAME        keeps the lines up to the matching #endif (or #else) when NAME is "on":
#   #if !NAME       its opposite. NAME is "on" unless its value is empty, no, off, false or 0.
#   #else / #endif  as you would expect; blocks nest. The marker lines are not copied.
#   #for NAME       repeats the lines up to #endfor once per comma-separated item of NAME's
#                   value, with @NAME@ standing for the item (e.g. several app servers); a
#                   #for block holds no other markers.
# A placeholder or condition with no value given is an error, so nothing half-rendered ships.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: deploy/render.sh TEMPLATE [NAME=VALUE ...] > OUTPUT

Replaces @NAME@ placeholders and resolves "#if NAME" / "#if !NAME" / "#else" / "#endif"
blocks in TEMPLATE, writing the result to standard output.
Example:
  deploy/render.sh deploy/systemd/sequoalpha.service APP_DIR=/home/ubuntu/sequoalpha \\
      UPLOAD_DIR=/home/ubuntu/sequoalpha/backend/uploads > /etc/systemd/system/sequoalpha.service
USAGE
}

die() { echo "render.sh: $*" >&2; exit 2; }

render() {
  local template="$1"
  shift
  [[ -r "${template}" ]] || die "cannot read template ${template}"
  local pair
  local -a names=() values=()
  for pair in "$@"; do
    [[ "${pair}" =~ ^[A-Z][A-Z0-9_]*= ]] || die "expected NAME=VALUE, got '${pair}'"
    names+=("${pair%%=*}")
    values+=("${pair#*=}")
  done
  # Values go to awk through the environment (RENDER_<n>), so no character needs escaping.
  local i
  local -a env_args=("RENDER_COUNT=${#names[@]}")
  for i in "${!names[@]}"; do
    env_args+=("RENDER_NAME_${i}=${names[i]}" "RENDER_VALUE_${i}=${values[i]}")
  done
  # shellcheck disable=SC2016  # an awk program, not shell
  env "${env_args[@]}" awk -v template="${template}" '
    function fail(msg) { printf "render.sh: %s:%d: %s\n", template, NR, msg > "/dev/stderr"; failed = 1; exit 2 }
    function truthy(name,   v) {
      if (!(name in val)) fail("condition " name " has no value (pass " name "=...)")
      v = tolower(val[name])
      return !(v == "" || v == "no" || v == "off" || v == "false" || v == "0")
    }
    function substitute(line,   out, start, rest, stop, name) {
      out = ""
      while ((start = index(line, "@")) > 0) {
        rest = substr(line, start + 1)
        stop = index(rest, "@")
        name = substr(rest, 1, stop - 1)
        if (stop > 1 && name ~ /^[A-Z][A-Z0-9_]*$/) {
          if (!(name in val)) fail("placeholder @" name "@ has no value (pass " name "=...)")
          out = out substr(line, 1, start - 1) val[name]
          line = substr(rest, stop + 1)
        } else {
          out = out substr(line, 1, start)
          line = rest
        }
      }
      return out line
    }
    BEGIN {
      for (i = 0; i < ENVIRON["RENDER_COUNT"]; i++) val[ENVIRON["RENDER_NAME_" i]] = ENVIRON["RENDER_VALUE_" i]
      depth = 0; keep[0] = 1
    }
    /^[ \t]*#endfor[ \t]*$/ {
      if (!looping) fail("#endfor without #for")
      looping = 0
      if (keep[depth]) {
        saved = val[loopname]; count = split(saved, items, ",")
        for (i = 1; i <= count; i++) {
          item = items[i]; gsub(/^[ \t]+|[ \t]+$/, "", item)
          if (item == "") continue
          val[loopname] = item
          for (j = 1; j <= nbody; j++) print substitute(body[j])
        }
        val[loopname] = saved
      }
      next
    }
    looping {
      if ($0 ~ /^[ \t]*#(if|else|endif|for)([ \t]|$)/) fail("a marker inside a #for block")
      body[++nbody] = $0; next
    }
    /^[ \t]*#for[ \t]+[A-Z][A-Z0-9_]*[ \t]*$/ {
      loopname = $2; looping = 1; nbody = 0
      if (!(loopname in val)) fail("#for " loopname " has no value (pass " loopname "=...)")
      next
    }
    /^[ \t]*#if[ \t]+!?[A-Z][A-Z0-9_]*[ \t]*$/ {
      cond = $2; negate = (substr(cond, 1, 1) == "!"); if (negate) cond = substr(cond, 2)
      on = truthy(cond); if (negate) on = !on
      depth++; parent[depth] = keep[depth - 1]; keep[depth] = parent[depth] && on; next
    }
    /^[ \t]*#else[ \t]*$/ {
      if (depth == 0) fail("#else without #if")
      keep[depth] = parent[depth] && !keep[depth]; next
    }
    /^[ \t]*#endif[ \t]*$/ {
      if (depth == 0) fail("#endif without #if")
      depth--; next
    }
    keep[depth] { print substitute($0) }
    END {
      if (!failed && looping) fail("#for without #endfor")
      if (!failed && depth != 0) fail("#if without #endif")
    }
  ' "${template}"
}

main() {
  case "${1:-}" in
    ""|-h|--help) usage; [[ $# -gt 0 ]] || exit 2 ;;
    *) render "$@" ;;
  esac
}

main "$@"
