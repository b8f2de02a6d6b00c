# The one harness every e2e script sources: checks, running the real itaku
# binary, and the clock.
#
# The clock. Itaku reads only the system clock. A test that needs another
# moment moves the clock of one process with libfaketime (Debian's
# `faketime`), and every moment a test names is derived from now (`date`,
# which a clock moved for the whole suite moves too), so the suite passes on
# any day: certificates, NDAs and deadlines made "now" agree with what
# Itaku sees.
#
# A script called as `SCRIPT ITAKU ITAKU_GEN SOURCE_DIR` starts with
#   source "$3/tests/e2e/lib.sh" "$@"
# which sets ITAKU (the binary), GEN (itaku-gen), SRC (the source tree),
# work (a scratch folder, removed on exit after `cleanup`, which the script
# may redefine to stop its servers), and starts the daemon the way it runs
# in production: `itaku serve` as its own service account ($SVC) on a fresh
# store at $ITAKU_DB (a folder only that account can open), with the staff
# API on $SOCK. Staff are real OS users (useradd, once per machine):
#   $OFFICER  privacy officer, registered by `itaku init --officer`
#   $OFFICER2 a second privacy officer (approves $OFFICER's proposals)
#   $CLERK    operator
#   $AUDITOR  auditor
# `itaku` runs the CLI as $AS (default $OFFICER) with `runuser`; the daemon
# knows them only by the uid the kernel reports.
#
# Test files: the script runs with umask 002 and the CLI with group root,
# so staff users read the exports and write into the output folders the
# script makes, as people do with their own files.

set -uo pipefail
ITAKU=$1 GEN=$2 SRC=$3
work=$(mktemp -d)
chmod 775 "$work"
umask 002
cleanup() { :; }
trap 'cleanup; stop_daemon; rm -rf "$work"' EXIT
SVC=itk-svc OFFICER=itk-officer OFFICER2=itk-officer2 CLERK=itk-clerk AUDITOR=itk-auditor
AS=$OFFICER
ITAKU_DB="$work/state/itaku.db" SOCK="$work/run/itaku.sock"
export ITAKU_SOCKET=$SOCK

# os_user NAME: the OS account, created once (no home, no login shell).
os_user() { id -u "$1" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$1"; }
for u in $SVC $OFFICER $OFFICER2 $CLERK $AUDITOR; do os_user "$u"; done
mkdir -p "$work/state" "$work/run"
chown "$SVC" "$work/state" "$work/run"
chmod 700 "$work/state"
chmod 755 "$work/run"

passed=0 failed=0

check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}
contains() {  # contains NAME NEEDLE HAYSTACK
  if [[ "$3" == *"$2"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL %s\n  missing: %s\n  in: %s\n' "$1" "$2" "$3"; fi
}
finish() {  # finish NAME: the closing line and the exit status
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# day WHEN: the operator's calendar day in Japan (YYYY-MM-DD) at WHEN, any
# expression `date -d` reads ("now", "+60 days", "2026-12-01T01:00:00Z").
day() { TZ=Asia/Tokyo date -d "$1" +%F; }
# noon DAY: midday in Japan on DAY, as a WHEN: far from either end of the day.
noon() { echo "$1 12:00 +0900"; }
# utc WHEN: the instant as Itaku writes it.
utc() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

faketime_lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$faketime_lib" ] || { echo "libfaketime is missing (ops/setup installs faketime)" >&2; exit 1; }

# The daemon's clock is the machine's moved by libfaketime: it reads the
# offset in $work/clock (seconds from the real clock) on every call, so a
# test moves it for one command with `CLOCK=WHEN itaku ...`. The offset is
# taken from the real clock, so a clock moved for the whole suite (faketime
# around ctest) moves the daemon too.
real_now() { env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED date +%s; }
set_clock() {  # set_clock [WHEN]: the daemon's clock at WHEN (default: the suite's now)
  local real target offset=0
  # The real clock first: reading it after WHEN could put the daemon a
  # second behind the moment a test just made a certificate at.
  real=$(real_now)
  target=$(date -d "${1:-now}" +%s) || return 2
  # Unmoved (no argument, no clock moved for the suite): exactly the real clock.
  if [ -n "${1:-}" ] || [ -n "${FAKETIME:-}${FAKETIME_SHARED:-}" ]; then offset=$(( target - real )); fi
  printf '%+d\n' "$offset" > "$work/clock.new" && chmod 644 "$work/clock.new" &&
    mv "$work/clock.new" "$work/clock"
}
set_clock

# The operator's own details, as every installation's daemon config holds
# them (slips, letters and e-mail are refused while they are placeholders).
# start_daemon uses this file unless a test passes a --config of its own;
# operator_identity >> FILE appends the [requests] table to a test's file.
operator_identity() {
  printf '%s\n' '[requests]' 'operator_name = "夢前ケーブルテレビ株式会社"' \
    'operator_postal_code = "6712103"' 'operator_address = "兵庫県姫路市夢前町前之庄1-1"' \
    'operator_phone = "079-000-0000"'
}
{ operator_identity; printf '%s\n' '[smtp]' 'from = "privacy@operator.example"'; } \
  > "$work/operator.toml" && chmod 644 "$work/operator.toml"

daemon_pid=""
# start_daemon [SERVE ARGS...]: `itaku serve` as $SVC; waits for the socket.
start_daemon() {
  case " $* " in *" --config "*) ;; *) set -- --config "$work/operator.toml" "$@" ;; esac
  rm -f "$work/run/pid" "$SOCK"  # a socket left by a daemon that was killed
  runuser -u "$SVC" -- sh -c 'echo $$ > "$0/run/pid"; exec "$@"' "$work" \
    env -u FAKETIME -u FAKETIME_SHARED LD_PRELOAD="$faketime_lib" \
    FAKETIME_TIMESTAMP_FILE="$work/clock" FAKETIME_NO_CACHE=1 TZ=UTC \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$ITAKU" --db "$ITAKU_DB" --socket "$SOCK" serve "$@" >>"$work/daemon.log" 2>&1 &
  local i
  for i in $(seq 100); do
    [ -S "$SOCK" ] && [ -s "$work/run/pid" ] && { daemon_pid=$(cat "$work/run/pid"); return 0; }
    sleep 0.1
  done
  echo "the daemon did not start:" >&2; cat "$work/daemon.log" >&2; return 1
}
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null
  local i
  for i in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  daemon_pid=""
}

# itaku ARGS...: the CLI as $AS (`AS=$CLERK itaku …`), with the daemon's
# clock at $CLOCK for this command when that is set (`CLOCK="+8 days" itaku …`).
itaku() {
  local rc
  if [ -n "${CLOCK:-}" ]; then set_clock "$CLOCK" || return 2; fi
  runuser -u "$AS" -g root -- "$ITAKU" --socket "$SOCK" "$@"; rc=$?
  if [ -n "${CLOCK:-}" ]; then set_clock; fi
  return $rc
}
# run ARGS...: itaku, keeping stdout in $out, stderr in $err, status in $rc.
run() { out=$(itaku "$@" 2>"$work/err"); rc=$?; err=$(cat "$work/err"); }
# approved ARGS...: run a change as $AS and, when it became a proposal,
# approve it as the other officer; $out is then the change's own output
# (text, or its JSON with --json), as if it had taken effect at once.
approved() {
  run "$@"
  [ "$rc" -eq 0 ] || return 0
  local id json=0 a
  for a in "$@"; do [ "$a" = --json ] && json=1; done
  if [ $json -eq 1 ]; then
    id=$(echo "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("proposal","") if j.get("state")=="pending" else "")')
  else
    id=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
  fi
  [ -n "$id" ] || return 0
  local approver=$OFFICER2
  [ "$AS" = "$OFFICER2" ] && approver=$OFFICER
  if [ $json -eq 1 ]; then
    out=$(AS=$approver itaku approval approve "$id" --json 2>"$work/err"); rc=$?
    [ "$rc" -eq 0 ] && out=$(echo "$out" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["result"], indent=2, ensure_ascii=False))')
  else
    out=$(AS=$approver itaku approval approve "$id" 2>"$work/err"); rc=$?
    [ "$rc" -eq 0 ] && out=$(echo "$out" | tail -n +2)
  fi
  err=$(cat "$work/err")
}

py() { python3 -c "$1"; }
json() { echo "$out" | py "import json,sys; print(json.load(sys.stdin)$1)"; }
sql() { sqlite3 "$ITAKU_DB" "$1"; }

# sign_contract CONTRACTOR SIGNED FROM UNTIL PURPOSE...: the outsourcing
# contract (業務委託契約) a delivery needs besides the NDA, in force FROM to
# UNTIL and covering each PURPOSE, registered by $AS through `itaku` (so
# `AS=... sign_contract` and `CLOCK=... sign_contract` work as for any
# command). Its scan is a small synthetic file, like the NDA's; what
# `contract add` prints goes to stdout, as the NDA's does.
sign_contract() {
  local contractor=$1 signed=$2 from=$3 until=$4 p purposes=()
  shift 4
  for p in "$@"; do purposes+=(--purpose "$p"); done
  printf 'contract\n' > "$work/contract.pdf"
  itaku contract add "$contractor" --document "$work/contract.pdf" --signed "$signed" \
    --from "$from" --until "$until" "${purposes[@]}" \
    --incident-contact "情報セキュリティ窓口 03-0000-0000" --reoutsourcing forbidden
}

# The store and its staff, then the daemon.
runuser -u "$SVC" -- "$ITAKU" --db "$ITAKU_DB" init --officer "$OFFICER" >/dev/null ||
  { echo "itaku init failed" >&2; exit 1; }
if [ "${ITAKU_E2E_NO_DAEMON:-}" != 1 ]; then
  start_daemon || exit 1
  itaku staff add "$CLERK" --os-user "$CLERK" --role operator >/dev/null &&
    itaku staff add "$AUDITOR" --os-user "$AUDITOR" --role auditor >/dev/null &&
    AS=$CLERK itaku approval approve "$(itaku staff add "$OFFICER2" --os-user "$OFFICER2" \
      --role privacy-officer --json | py 'import json,sys; print(json.load(sys.stdin)["proposal"])')" \
      >/dev/null || { echo "registering the test staff failed" >&2; cat "$work/daemon.log" >&2; exit 1; }
fi
