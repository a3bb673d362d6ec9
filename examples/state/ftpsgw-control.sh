#!/bin/sh
# A state adapter (README "State adapters") for the ftpsgw simulator's control API, with curl
# only: the shape of an adapter for any gateway whose state a test team can change.
#
#   ftpsgw-control.sh ACTION [ARGS...]
#
# Environment: FTPSGW_CONTROL_URL (e.g. http://127.0.0.1:6382), FTPSGW_CONTROL_TOKEN (optional),
# and from the harness FTPSGW_LEASE: the run's lease, sent with every request while it holds
# the simulator (`lease HOLDER TTL` takes it, `release HOLDER` gives it back).
# Exit 0: done; 127: this action is not supported; anything else: it failed (the output says
# why; for `lease`: another run holds the simulator).
set -u
url="${FTPSGW_CONTROL_URL:?set FTPSGW_CONTROL_URL}/control/v1"
auth=""
[ -n "${FTPSGW_CONTROL_TOKEN:-}" ] && auth="Authorization: Bearer $FTPSGW_CONTROL_TOKEN"

lease="X-Ftpsgw-Lease: ${FTPSGW_LEASE:-}"

call() { # METHOD PATH [JSON]
	if [ $# -ge 3 ]; then
		curl -fsS --max-time 30 -X "$1" -H "${auth:-X-No-Auth: 1}" -H "$lease" -H 'Content-Type: application/json' -d "$3" "$url$2" >/dev/null
	else
		curl -fsS --max-time 30 -X "$1" -H "${auth:-X-No-Auth: 1}" -H "$lease" "$url$2" >/dev/null
	fi
}

# json_list ROLE... prints ["ROLE", ...] (role names hold no quotes: letters, digits, . _ -).
json_list() {
	out="" sep=""
	for r in "$@"; do out="$out$sep\"$r\""; sep=", "; done
	printf '[%s]' "$out"
}

action="${1:-}"
[ $# -gt 0 ] && shift
case "$action" in
lease)
	# 409: another run holds the simulator; its answer says who (curl -f hides the body)
	out=$(curl -sS --max-time 30 -X POST -H "${auth:-X-No-Auth: 1}" -H 'Content-Type: application/json' \
		-d "{\"holder\": \"$1\", \"ttl\": \"$2\"}" -w '\n%{http_code}' "$url/lease") || exit 1
	code=$(printf '%s\n' "$out" | tail -n 1)
	case "$code" in
	2*) exit 0 ;;
	404) exit 127 ;; # a simulator without leases
	*) printf '%s\n' "$out" | sed '$d' | sed -n 's/.*"error": *"\([^"]*\)".*/\1/p' >&2; exit 1 ;;
	esac ;;
release) call DELETE "/lease/$1" ;;
reset) call POST /reset ;;
backend)
	case "${1:-}" in
	down) call PUT /backend '{"up": false}' ;;
	up) call PUT /backend '{"up": true}' ;;
	*) echo "backend down|up" >&2; exit 2 ;;
	esac ;;
security)
	case "${1:-}" in
	down) call PUT /security '{"reachable": false}' ;;
	up) call PUT /security '{"reachable": true}' ;;
	*) echo "security down|up" >&2; exit 2 ;;
	esac ;;
unregister) call DELETE "/registrations/$1" ;;
roles) user="$1"; shift; call PUT "/security/roles/$user" "{\"roles\": $(json_list "$@")}" ;;
replicate) call POST /security/replicate ;;
advance) call POST /clock/advance "{\"by\": \"$1\"}" ;;
backend-reject) call PUT /backend "{\"services\": {\"$1\": {\"action\": \"reject\", \"error_code\": \"$2\", \"error_message\": \"rejected by the state adapter\", \"delay\": \"1s\"}}}" ;;
backend-reply) call PUT /backend "{\"services\": {\"$1\": {\"action\": \"accept\", \"delay\": \"1s\", \"reply\": true, \"expose_delay\": \"1s\"}}}" ;;
backend-fixed-record) call PUT /backend "{\"services\": {\"$1\": {\"action\": \"accept\", \"delay\": \"1s\", \"require_ascii\": true, \"record_length\": $2, \"fixed_record\": true}}}" ;;
backend-lists) call PUT /backend "{\"services\": {\"$1\": {\"action\": \"accept\", \"delay\": \"1s\", \"lists\": \"errors+advice\", \"expose_delay\": \"1s\"}}}" ;;
*) echo "unsupported action: $action" >&2; exit 127 ;;
esac
