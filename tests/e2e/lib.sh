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
# may redefine to stop its servers) and a fresh store at $work/itaku.db,
# acted on as ITAKU_ACTOR=tester.

set -uo pipefail
ITAKU=$1 GEN=$2 SRC=$3
work=$(mktemp -d)
cleanup() { :; }
trap 'cleanup; rm -rf "$work"' EXIT
export ITAKU_DB="$work/itaku.db" ITAKU_ACTOR=tester

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

# clock_env: sets CLOCK_ENV, the `env` arguments that start a process's clock
# at $CLOCK (any WHEN) and let it run on; none when CLOCK is unset. Use it as
# `env "${CLOCK_ENV[@]}" CMD`, so that `CMD &` leaves CMD's own pid in $!.
clock_env() {
  CLOCK_ENV=()
  [ -n "${CLOCK:-}" ] || return 0
  local when
  when=$(date -u -d "$CLOCK" '+%Y-%m-%d %H:%M:%S') || return 2
  # A clock moved for the whole suite shares its start through
  # FAKETIME_SHARED; this process starts afresh at WHEN. libfaketime is
  # preloaded ahead of an ASan runtime, which ASan allows when told.
  CLOCK_ENV=(-u FAKETIME_SHARED LD_PRELOAD="$faketime_lib" FAKETIME="@$when" TZ=UTC
             ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# itaku ARGS...: the binary under test, at $CLOCK when that is set
# (`CLOCK="+8 days" itaku …`), else now. Not for `&`: $! would name the
# function's subshell; start a background process as
# `env "${CLOCK_ENV[@]}" "$ITAKU" … &` after `clock_env`.
itaku() { clock_env || return 2; env "${CLOCK_ENV[@]}" "$ITAKU" "$@"; }
# run ARGS...: itaku, keeping stdout in $out, stderr in $err, status in $rc.
run() { out=$(itaku "$@" 2>"$work/err"); rc=$?; err=$(cat "$work/err"); }

py() { python3 -c "$1"; }
json() { echo "$out" | py "import json,sys; print(json.load(sys.stdin)$1)"; }
sql() { sqlite3 "$ITAKU_DB" "$1"; }
