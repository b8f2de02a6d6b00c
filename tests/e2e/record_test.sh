#!/usr/bin/env bash
# A record that cannot be quietly rewritten (issue 12), through the real
# daemon and CLI, a real OpenSSH server and the stock sqlite3 and openssl:
#
# - Checkpoints: `audit checkpoint` and its paper-ledger code, the one every
#   media package's manifest.json carries, and `audit verify --checkpoint`
#   with a file, a manifest and a code.
# - Tampering with the store as someone holding the file would (the daemon
#   stopped, sqlite3 as root): a deleted delivery, a deleted receipt, the
#   newest events deleted and the head reset, every event deleted, and a
#   consistent rewrite (an older copy of the store with another history
#   after it), caught against a checkpoint kept elsewhere and, without one,
#   named in what verify could not rule out.
# - The kill test (item 3): the daemon killed with SIGKILL at many distinct
#   moments of a media delivery and of an SFTP delivery. After each kill the
#   restarted daemon has settled what was open: no package under a final
#   name that the store does not count as sent, on the medium or the
#   server; no leftovers in the outbox, the portal or the spool; history and
#   breach-scope include everything that may have left; nothing is left
#   "writing"; the audit trail verifies; the same delivery run again
#   succeeds.
#
# The daemon's clock only moves forward: the kill test runs each moment on
# a day of its own (noon JST, one day later each time), which also lets
# breach-scope ask about that day alone.
# Usage: record_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
source "$SRC/ops/lib/sshd.sh"
cleanup() { itaku_sshd_stop; }
# Arithmetic and parsing in the loops use awk and sed: each kill needs a
# dozen of them, and a python3 start is slow on some machines.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
began=$(date +%s.%N)
took() { echo "$(calc "$(date +%s.%N) - $began") s"; }
from=$(day "-30 days") until=$(day "+5 years")

itaku_sshd_start "$work/server" || exit 1
chmod g+r "$SSHD_CLIENT_KEY"   # the CLI reads it as group root
url="sftp://$SSHD_USER@127.0.0.1:$SSHD_PORT/$SSHD_INBOX"
"$GEN" --rows 300 --seed 11 --out "$work/small.csv" || exit 1
head -n 101 "$work/small.csv" > "$work/other.csv"   # another history for the rewrite
"$GEN" --rows 200000 --seed 5 --out "$work/big.csv" || exit 1
printf 'nda\n' > "$work/nda.pdf"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 365 -subj "/CN=agency-a/O=Itaku test" 2>/dev/null || exit 1
itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" >/dev/null || exit 1
itaku nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null || exit 1
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/billing.toml"
sed 's/^id = .*/id = "agency-billing-csv"/; s/^encoding = .*/encoding = "utf-8"\npackage = "csv"/' \
  "$work/billing.toml" > "$work/billing-csv.toml"
for p in billing billing-csv; do
  approved profile import "$work/$p.toml"
  [ "$rc" -eq 0 ] || { echo "profile $p: $err" >&2; exit 1; }
done
approved contractor update agency-a --sftp "$url" --key "$SSHD_CLIENT_KEY"
[ "$rc" -eq 0 ] || { echo "sftp server: $err" >&2; exit 1; }
approved contractor update agency-a --host-key "$SSHD_HOST_KEY_FP"
[ "$rc" -eq 0 ] || { echo "host key: $err" >&2; exit 1; }

delivery_id() { echo "$out" | sed -n '1s/^delivery \([0-9]*\): .*/\1/p'; }
# media_delivery FILE DIR: a media delivery of FILE into DIR as the officer;
# its id in $id.
media_delivery() {
  mkdir -p "$2"
  run deliver --profile agency-billing --input "$1" --via media --out "$2"
  id=$(delivery_id)
}
verify() { AS=$AUDITOR run audit verify "$@"; }
events() { echo "$out" | sed -n 's/^audit trail intact: \([0-9]*\) events$/\1/p'; }

# The store as its file: the daemon stopped, edited as root (an attacker
# with the file), the service account's again, the daemon started. (A
# daemon that refuses a tampered store leaves the checks that follow to
# fail with its log above them.)
store_files() { local f; for f in "$ITAKU_DB" "$ITAKU_DB-wal" "$ITAKU_DB-shm"; do [ -e "$f" ] && echo "$f"; done; }
tamper() {  # tamper SQL
  stop_daemon
  sqlite3 "$ITAKU_DB" "$1" || { echo "tamper: sqlite3 failed" >&2; exit 1; }
  chown "$SVC" $(store_files)
  start_daemon
}
save_store() {  # save_store DIR: a copy of the store, taken with the daemon stopped
  stop_daemon
  rm -rf "$1" && mkdir -p "$1" && cp -p $(store_files) "$1"/
  start_daemon || exit 1
}
restore_store() {  # restore_store DIR: the store becomes the copy in DIR
  stop_daemon
  rm -f "$ITAKU_DB" "$ITAKU_DB-wal" "$ITAKU_DB-shm"
  cp -p "$1"/* "$work/state/"
  start_daemon || exit 1
}

# ---- Checkpoints ------------------------------------------------------------
for i in 1 2 3; do media_delivery "$work/small.csv" "$work/tamper"; done
check "three small deliveries" "0 3" "$rc $id"
verify
check "verify exit" 0 "$rc"
check "verify first line" "audit trail intact: $(events) events" "$(echo "$out" | head -n 1)"
contains "verify: the chain and its head" "  checked: chain of $(events) events and its head hold under this machine's audit key" "$out"
contains "verify: the records" "  checked: 3 deliveries, 900 receipts, 3 media and 0 portal packages match what the trail recorded" "$out"
contains "verify: no checkpoint from outside" "  not ruled out: no checkpoint from outside this machine was given: a consistent rewrite by someone holding this machine's audit keys cannot be ruled out (give the newest with --checkpoint FILE|CODE)" "$out"

run audit checkpoint
check "checkpoint exit" 0 "$rc"
cp1_seq=$(echo "$out" | sed -n 's/^checkpoint of audit event \([0-9]*\) (.* JST), signed by audit key [0-9a-f]\{16\}$/\1/p')
cp1_code=$(echo "$out" | sed -n 's/^code for the paper ledger: \(.*\)$/\1/p')
check "checkpoint text" 1 "$([[ -n "$cp1_seq" && "$cp1_code" =~ ^$cp1_seq(-[0-9A-Z]{4}){4}$ ]] && echo 1 || echo "$out")"
# The next package's manifest carries it; the contractor's copy proves it.
media_delivery "$work/small.csv" "$work/tamper"
check "delivery after the checkpoint" 0 "$rc"
mkdir -p "$work/m"
openssl cms -decrypt -binary -inform DER -in "$work/tamper/agency-a-$id.zip.p7m" -recip "$work/agency.crt" \
  -inkey "$work/agency.key" -out "$work/m/p.zip" 2>/dev/null && unzip -q "$work/m/p.zip" -d "$work/m/files"
check "package opens" 0 $?
check "manifest carries the newest checkpoint" "$cp1_seq $cp1_code" \
  "$(py "import json; c=json.load(open('$work/m/files/manifest.json'))['audit_checkpoint']; print(c['seq'], c['code'])")"
verify --checkpoint "$work/m/files/manifest.json"
check "verify with the manifest exit" 0 "$rc"
contains "the manifest's checkpoint matches" "  checked: checkpoint $work/m/files/manifest.json: event $cp1_seq matches (signed " "$out"
contains "after the manifest's checkpoint" "  not ruled out: events $((cp1_seq + 1)) to $(events) come after the newest checkpoint given" "$out"
verify --checkpoint "$cp1_code"
contains "the code matches" "  checked: code $cp1_code: event $cp1_seq matches" "$out"
run audit checkpoint --json
check "checkpoint json exit" 0 "$rc"
echo "$out" > "$work/cp-now.json"
now_seq=$(json '["seq"]')
check "the json checkpoint signs the event after the first checkpoint's own" 1 "$(( now_seq > cp1_seq ))"
verify --checkpoint "$work/cp-now.json"
check "verify with the json checkpoint exit" 0 "$rc"
contains "the json checkpoint matches" "  checked: checkpoint $work/cp-now.json: event $now_seq matches (signed " "$out"
contains "after the json checkpoint" "  not ruled out: events $((now_seq + 1)) to $(events) come after the newest checkpoint given" "$out"
py "import json; c=json.load(open('$work/cp-now.json')); c['seq']-=1; json.dump(c, open('$work/cp-forged.json','w'))"
verify --checkpoint "$work/cp-forged.json"
check "an altered checkpoint" "1 itaku: audit trail broken: checkpoint $work/cp-forged.json: its signature does not match (the checkpoint was altered)" "$rc $err"

# ---- Tampering with the store -----------------------------------------------
t2=2
save_store "$work/pristine"
tamper "PRAGMA foreign_keys=OFF; DELETE FROM delivery_subscriber WHERE delivery_id=$t2;
  DELETE FROM media WHERE delivery_id=$t2; DELETE FROM delivery WHERE id=$t2"
verify
check "deleted delivery: verify fails" 1 "$rc"
contains "deleted delivery: broken" "itaku: audit trail broken: " "$err"
contains "deleted delivery named" "delivery $t2 is missing (deleted); audit event " "$err"
contains "deleted medium named" "media $t2 is missing (deleted); audit event " "$err"

restore_store "$work/pristine"
tamper "DELETE FROM delivery_subscriber WHERE seq=(SELECT max(seq) FROM delivery_subscriber WHERE delivery_id=$t2)"
verify
check "deleted receipt: verify fails" 1 "$rc"
contains "deleted receipt named" "delivery $t2: its receipts differ from the 300 recorded (299 now; receipts deleted, added or changed outside Itaku)" "$err"

# The newest events deleted. The daemon then starts on the store and
# appends its own events: the truncation must still show.
restore_store "$work/pristine"
tamper "DELETE FROM audit_event WHERE seq > (SELECT max(seq) - 3 FROM audit_event);
  UPDATE meta SET value = (SELECT seq || ' ' || hash FROM audit_event ORDER BY seq DESC LIMIT 1)
    || ' $(printf '%064d' 0)' WHERE key = 'audit_head'"
verify
check "truncated, head reset: verify fails" 1 "$rc"
contains "truncated, head reset: named" "the chain head was changed without the audit key" "$err"
restore_store "$work/pristine"
tamper "DELETE FROM audit_event WHERE seq > (SELECT max(seq) - 3 FROM audit_event)"
verify
check "truncated, head kept: verify fails" 1 "$rc"
# The restarted daemon wrote on: its first event records what it found.
contains "truncated, head kept: named" "(audit.head-mismatch): when the daemon next wrote, the chain head names event " "$err"
contains "truncated, head kept: says what" "(events deleted or added outside Itaku)" "$err"

restore_store "$work/pristine"
tamper "DELETE FROM audit_event"
verify
check "every event deleted: verify fails" 1 "$rc"
contains "every event deleted: broken" "itaku: audit trail broken: " "$err"
contains "every event deleted: the deliveries are unaccounted for" "delivery 1 is not in the audit trail" "$err"

# A consistent rewrite: the store as it was before a checkpoint, with
# another history after it (what someone holding the audit keys could
# write). Only a checkpoint kept elsewhere tells.
restore_store "$work/pristine"
media_delivery "$work/small.csv" "$work/tamper"
check "the real history goes on" 0 "$rc"
run audit checkpoint
cp2_seq=$(echo "$out" | sed -n 's/^checkpoint of audit event \([0-9]*\) .*/\1/p')
cp2_code=$(echo "$out" | sed -n 's/^code for the paper ledger: \(.*\)$/\1/p')
run audit checkpoint --json
echo "$out" > "$work/cp.json"
cp_seq=$(json '["seq"]')
save_store "$work/real"
verify --checkpoint "$work/cp.json" --checkpoint "$cp2_code"
check "the real store holds both checkpoints" 0 "$rc"
contains "the real store: the file" "  checked: checkpoint $work/cp.json: event $cp_seq matches" "$out"
contains "the real store: the code" "  checked: code $cp2_code: event $cp2_seq matches" "$out"

restore_store "$work/pristine"   # taken before both checkpoints
verify
check "rewound: intact on its own" 0 "$rc"
contains "rewound: what verify cannot rule out" "  not ruled out: no checkpoint from outside this machine was given" "$out"
rewound=$(events)
verify --checkpoint "$work/cp.json"
check "rewound: the checkpoint file catches it" 1 "$rc"
contains "rewound: truncated (file)" "checkpoint $work/cp.json names event $cp_seq, but the chain ends at event $rewound (events $((rewound + 1)) to $cp_seq deleted: truncated)" "$err"
verify --checkpoint "$cp2_code"
check "rewound: the code catches it" 1 "$rc"
contains "rewound: truncated (code)" "code $cp2_code names event $cp2_seq, but the chain ends at event $rewound" "$err"
# Another history written after the copy, past the checkpoints' events.
for i in $(seq 1 20); do
  media_delivery "$work/other.csv" "$work/rewrite"
  verify
  [ "$(events)" -gt "$cp_seq" ] && break
done
check "rewritten: intact on its own" 0 "$rc"
contains "rewritten: what verify cannot rule out" "  not ruled out: no checkpoint from outside this machine was given" "$out"
verify --checkpoint "$work/cp.json"
check "rewritten: the checkpoint file catches it" 1 "$rc"
contains "rewritten: not what was signed (file)" "checkpoint $work/cp.json: event $cp_seq is not what was signed on " "$err"
contains "rewritten: says what (file)" "(events 1 to $cp_seq were rewritten)" "$err"
verify --checkpoint "$cp2_code"
check "rewritten: the code catches it" 1 "$rc"
contains "rewritten: not what was signed (code)" "code $cp2_code: event $cp2_seq is not what was signed (events 1 to $cp2_seq were rewritten)" "$err"
verify --checkpoint "$cp1_code"
check "rewritten after an older checkpoint: that one still holds" 0 "$rc"
contains "rewritten after an older checkpoint: what it cannot rule out" \
  "  not ruled out: events $((cp1_seq + 1)) to $(events) come after the newest checkpoint given" "$out"
restore_store "$work/real"
verify --checkpoint "$work/cp.json"
check "the real store back" 0 "$rc"
echo "checkpoints and tampering done after $(took)"

# ---- The kill test ------------------------------------------------------------
# The system's python3 (ops/setup) for the killer: it starts before each
# kill, and a python3 shim on PATH (pyenv) can take most of a second.
killer_python=$(PATH=/usr/bin:/bin command -v python3 || command -v python3)
# killer.py DAEMON_PID OUT MODE ARGS... -- CLI...: runs the CLI (its output
# in OUT.out and OUT.err) and kills the daemon with SIGKILL:
#   after SECONDS                     that long after the CLI started;
#   file GLOB MIN_BYTES DELAY         DELAY seconds after a file matching GLOB
#                                     has MIN_BYTES (polled every 0.2 ms, so
#                                     a rename is caught within a fraction of
#                                     a millisecond), or when the CLI ends;
#   watch GLOB...                     never (DAEMON_PID 0): prints when each
#                                     GLOB first matched and when the CLI ended.
# Prints the moment of the kill, whether the trigger was met, and the CLI's
# exit status.
cat > "$work/killer.py" <<'PY'
import glob, os, signal, subprocess, sys, time
pid, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cut = sys.argv.index("--")
args, cmd = sys.argv[4:cut], sys.argv[cut + 1:]

def seen(pattern, min_bytes=0):
    for p in glob.glob(pattern):
        try:
            if os.path.getsize(p) >= min_bytes:
                return True
        except OSError:
            pass
    return False

with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    t0 = time.monotonic()
    cli = subprocess.Popen(cmd, stdout=o, stderr=e)
    if mode == "watch":
        first = [None] * len(args)
        while cli.poll() is None:
            for i, p in enumerate(args):
                if first[i] is None and seen(p):
                    first[i] = time.monotonic() - t0
            time.sleep(0.0005)
        total = time.monotonic() - t0
        print(" ".join("-" if t is None else f"{t:.3f}" for t in first), f"{total:.3f}",
              cli.returncode)
        sys.exit(0)
    hit = True
    if mode == "after":
        time.sleep(float(args[0]))
    else:
        pattern, min_bytes, delay = args[0], int(args[1]), float(args[2])
        hit = False
        while time.monotonic() - t0 < 120:
            hit = seen(pattern, min_bytes)
            if hit or cli.poll() is not None:
                break
            time.sleep(0.0002)
        if hit and delay > 0:
            time.sleep(delay)
    at = time.monotonic() - t0
    os.kill(pid, signal.SIGKILL)
    try:
        rc = cli.wait(timeout=60)
    except subprocess.TimeoutExpired:
        cli.kill()
        rc = "hung"
print(f"{at:.3f} {'hit' if hit else 'missed'} {rc}")
PY

declare -A state        # delivery id -> outcome on record ("none": no such delivery)
declare -A tally        # "transport|what the kill left" -> count
declare -A packages_left  # transport -> kills after which the dead daemon had left a package file
last_id=0
outcome_of() {  # outcome_of ID: refreshes ${state[ID]} from `delivery show`
  local o
  o=$(AS=$AUDITOR itaku delivery show "$1" 2>/dev/null | sed -n "1s/^delivery $1: //p")
  state[$1]=${o:-none}
}
refresh() {  # every delivery so far; only outcomes that may still change are asked again
  local i
  for i in $(seq 1 "$last_id"); do
    case ${state[$i]:-} in delivered|failed|refused|cancelled) ;; *) outcome_of "$i" ;; esac
  done
}
may_have_left() {  # the ids counted as received, sorted
  local i
  for i in $(seq 1 "$last_id"); do
    case ${state[$i]} in delivered|sending|writing) echo "$i" ;; esac
  done | tr '\n' ' ' | sed 's/ $//'
}
# unknown_packages DIR: files under a final package name in DIR whose
# delivery the store does not count as sent.
unknown_packages() {
  local f id
  for f in $(ls -A "$1" 2>/dev/null | grep -E '^agency-a-[0-9]+\.(zip\.p7m|csv)$'); do
    id=${f#agency-a-}; id=${id%%.*}
    [ -n "${state[$id]:-}" ] || outcome_of "$id"
    case ${state[$id]} in delivered|sending) ;; *) echo -n "$f(${state[$id]}) " ;; esac
  done
}
history_ids() {  # the deliveries `history` lists in $out, sorted
  echo "$out" | sed -n 's/^  .* JST  delivery \([0-9]*\)  .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'
}
# The deliveries made before the kill test (every one carried S00000001).
run history --subscriber S00000001
last_id=$(history_ids | awk '{ print $NF }')
refresh

mkdir -p "$work/usb"
cli=(runuser -u "$OFFICER" -g root -- "$ITAKU" --socket "$SOCK" deliver --input "$work/big.csv")
media_args=(--profile agency-billing --via media --out "$work/usb")
sftp_args=(--profile agency-billing-csv --via sftp --retries 1 --retry-wait 0.2)
dayno=0
next_day() {  # the daemon's clock at noon JST of the next day; $today is that day
  dayno=$((dayno + 1))
  today=$(day "+$dayno days")
  set_clock "$(noon "$today")"
}
# rerun TRANSPORT: the same delivery again, in full; it must succeed.
rerun() {
  if [ "$1" = media ]; then out=$("${cli[@]}" "${media_args[@]}" 2>"$work/rerun.err"); else
    out=$("${cli[@]}" "${sftp_args[@]}" 2>"$work/rerun.err"); fi
  rc=$?
  id=$(delivery_id)
  [ -n "$id" ] && { state[$id]=delivered; last_id=$id; }
}
# measure TRANSPORT GLOB...: a full delivery, watched: $at holds when each
# GLOB (@ID@: the delivery's id) first appeared, then the whole run's time.
measure() {
  local transport=$1 args=("${media_args[@]}") next=$((last_id + 1)) globs
  shift
  [ "$transport" = sftp ] && args=("${sftp_args[@]}")
  globs=("${@//@ID@/$next}")
  at=$("$killer_python" "$work/killer.py" 0 "$work/measure-$transport" watch "${globs[@]}" -- \
    "${cli[@]}" "${args[@]}")
  rc=${at##* }
  at=${at% *}
  out=$(cat "$work/measure-$transport.out")
  id=$(delivery_id)
  [ -n "$id" ] && { state[$id]=delivered; last_id=$id; }
}

spool="$ITAKU_DB.d/spool/*/*"
outbox="$ITAKU_DB.d/outbox"
echo "measuring one full delivery of each kind"
next_day
measure media "$spool/.agency-a-@ID@.zip.p7m.partial-*" "$spool/agency-a-@ID@.zip.p7m"
check "measured media delivery" "0 delivery $id: written $work/usb/agency-a-$id.zip.p7m" "$rc $(echo "$out" | head -n 1)"
read -r media_writing media_written media_s <<< "$at"
measure sftp "$outbox/.agency-a-@ID@.csv.partial-*" "$outbox/agency-a-@ID@.csv" "$SSHD_INBOX/agency-a-@ID@.csv.part"
check "measured sftp delivery" "0 agency-a-$id.csv" "$rc $(ls "$SSHD_INBOX")"
read -r sftp_writing sftp_built sftp_upload sftp_s <<< "$at"
sftp_size=$(stat -c %s "$SSHD_INBOX/agency-a-$id.csv")
echo "a delivery of 200000 records (s from the start: written from, package complete, end):"
echo "  media: $media_writing, $media_written, $media_s"
echo "  sftp: $sftp_writing, $sftp_built, upload from $sftp_upload, $sftp_s ($sftp_size bytes)"
check "the measurement saw every phase" 1 "$([[ "$media_writing $media_written $sftp_writing $sftp_built $sftp_upload" != *-* ]] && echo 1 || echo "$at")"

# kill_at TRANSPORT MODE ARGS...: one kill, the restart, every check, the rerun.
kills=0
kill_at() {
  local transport=$1; shift
  local mode=("$@") k=$((++kills)) id=$((last_id + 1)) got label log_from settled what
  local args=("${media_args[@]}")
  [ "$transport" = sftp ] && args=("${sftp_args[@]}")
  next_day
  mode=("${mode[@]//@ID@/$id}")
  got=$("$killer_python" "$work/killer.py" "$daemon_pid" "$work/kill-$k" "${mode[@]}" -- "${cli[@]}" "${args[@]}")
  for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.05; done
  daemon_pid=""
  # What the dead daemon left of the package (whole or in part), for the
  # restart to remove.
  local left
  left=$(find "$ITAKU_DB.d/spool" "$ITAKU_DB.d/outbox" -name "agency-a-$id.*" -o -name ".agency-a-$id.*" \
    2>/dev/null | wc -l)
  [ "$left" -gt 0 ] && packages_left[$transport]=$(( ${packages_left[$transport]:-0} + 1 ))
  label="$transport kill $k (${mode[*]##*/}; at ${got%% *} s)"
  log_from=$(($(wc -l < "$work/daemon.log") + 1))
  start_daemon || exit 1
  # Leftovers, looked at before anything else touches the daemon.
  check "$label: no leftovers in the outbox, the portal or the spool" "" \
    "$(find "$ITAKU_DB.d/outbox" "$ITAKU_DB.d/spool" -mindepth 1 2>/dev/null; find "$ITAKU_DB.d/portal" -name '.*partial-*' 2>/dev/null)"
  settled=$(tail -n +"$log_from" "$work/daemon.log" | grep "^settled delivery $id (")
  last_id=$((id > last_id ? id : last_id))
  outcome_of "$id"
  [ "${state[$id]}" = none ] && last_id=$((id - 1))
  refresh
  case "${state[$id]} $settled" in
    "none "*) what="none started" ;;
    "failed "*"-> failed"*) what="failed via reconciliation" ;;
    "delivered "*"-> delivered"*) what="delivered via reconciliation" ;;
    "sending "*"still counted as sent"*) what="still sending (the server holds part of it)" ;;
    "delivered ") what="delivered before the kill" ;;
    *) what="${state[$id]}: ${settled:-no settle line}" ;;
  esac
  tally["$transport|$what"]=$(( ${tally["$transport|$what"]:-0} + 1 ))
  echo "$label: $what$( [ "$left" -gt 0 ] && echo ", the dead daemon's package files removed")"
  # (a) no package under a final name the store does not count as sent.
  check "$label: no unknown package on the medium" "" "$(unknown_packages "$work/usb")"
  check "$label: no unknown package on the server" "" "$(unknown_packages "$SSHD_INBOX")"
  check "$label: no partial file on the medium" "" "$(ls -A "$work/usb" | grep -v '^agency-a-[0-9]*\.zip\.p7m$')"
  if [ "$transport" = media ] && [ "${state[$id]}" = delivered ] && [ ! -e "$work/usb/agency-a-$id.zip.p7m" ]; then
    echo "note: $label: delivery $id is on record as delivered, but its package never reached $work/usb"
  fi
  # (b) nothing left writing; history and breach-scope count what may have left.
  check "$label: nothing left writing" "" "$(for i in $(seq 1 "$last_id"); do [ "${state[$i]}" = writing ] && echo -n "$i "; done)"
  run history --subscriber S00000001
  check "$label: history lists exactly what may have left" "$(may_have_left)" "$(history_ids)"
  # The day's deliveries: the killed one, if it may have left (the rerun
  # comes later). The subscribers go to a file, as for notices.
  local expected="0 subscribers, 0 deliveries:, 0 rows"
  case ${state[$id]} in
    delivered|sending) expected="200000 subscribers, 1 deliveries: $id, 200000 rows of delivery $id" ;;
  esac
  run breach-scope --contractor agency-a --since "$today" --until "$today" \
    --subscribers-csv "$work/scope-$k.csv"
  check "$label: breach-scope of the day" "$expected" "$(echo "$out" | sed -n \
    's/^agency-a received data about \([0-9]*\) subscribers in \([0-9]*\) deliver.* between '"$today and $today"' (days in JST)$/\1 subscribers, \2 deliveries:/p'
    )$(echo "$out" | sed -n 's/^  delivery \([0-9]*\) .*/ \1/p' | tr -d '\n'), $(
    awk -F, -v id="$id" 'NR > 1 { n++; sub(/\r$/, "", $3); if ($3 == id) m++ }
      END { print n + 0 " rows" (n ? " of delivery " (m == n ? id : "?") : "") }' "$work/scope-$k.csv")"
  # (c) the trail verifies.
  verify
  check "$label: audit verify" "0 audit trail intact" "$rc $(echo "$out" | head -n 1 | sed 's/: [0-9]* events$//')"
  [ "$rc" -eq 0 ] || echo "  $err"
  # (d) the same delivery again.
  rerun "$transport"
  check "$label: the rerun succeeds" 0 "$rc"
  [ "$rc" -eq 0 ] || cat "$work/rerun.err"
  if [ "$transport" = media ]; then
    check "$label: the rerun's package" "$work/usb/agency-a-$id.zip.p7m" "$( [ -n "$id" ] && ls "$work/usb/agency-a-$id.zip.p7m")"
  else
    check "$label: the rerun's package" "$SSHD_INBOX/agency-a-$id.csv" "$( [ -n "$id" ] && ls "$SSHD_INBOX/agency-a-$id.csv")"
  fi
}

# Media: very early (the export still on its way to the daemon), 12
# moments spread over the time the delivery is on record, the moment the
# package takes its final name in the daemon's spool (before the commit),
# and just after it (the CLI fetching the package).
kill_at media after 0.005
for f in 0.05 0.12 0.2 0.28 0.36 0.44 0.52 0.6 0.68 0.76 0.85 0.95; do
  kill_at media after "$(calc "$media_writing + $f * ($media_s - $media_writing)")"
done
kill_at media file "$spool/agency-a-@ID@.zip.p7m" 0 0
kill_at media file "$spool/agency-a-@ID@.zip.p7m" 0 0.02
echo "media kills done after $(took)"
# SFTP: very early, twice while the package is built, when it is complete
# in the outbox, as the upload starts, a third and two thirds of the way,
# when it takes its final name on the server, and just after.
kill_at sftp after 0.005
kill_at sftp after "$(calc "$sftp_writing + 0.25 * ($sftp_built - $sftp_writing)")"
kill_at sftp after "$(calc "$sftp_writing + 0.7 * ($sftp_built - $sftp_writing)")"
kill_at sftp file "$outbox/agency-a-@ID@.csv" 0 0
kill_at sftp file "$SSHD_INBOX/agency-a-@ID@.csv.part" 0 0
kill_at sftp file "$SSHD_INBOX/agency-a-@ID@.csv.part" $((sftp_size / 3)) 0
kill_at sftp file "$SSHD_INBOX/agency-a-@ID@.csv.part" $((sftp_size * 2 / 3)) 0
kill_at sftp file "$SSHD_INBOX/agency-a-@ID@.csv" 0 0
kill_at sftp file "$SSHD_INBOX/agency-a-@ID@.csv" 0 0.05

echo "what the $kills kills left:"
while IFS= read -r k; do echo "  ${k%%|*}: ${k#*|}: ${tally[$k]}"; done < <(printf '%s\n' "${!tally[@]}" | sort)
kinds() { printf '%s\n' "${!tally[@]}" | grep "^$1|" | wc -l; }
check "media kills left at least two different outcomes" 1 "$(( $(kinds media) >= 2 ))"
check "media kills left package files for the restart to remove" 1 "$(( ${packages_left[media]:-0} >= 1 ))"
check "sftp kills left package files for the restart to remove" 1 "$(( ${packages_left[sftp]:-0} >= 1 ))"
check "sftp kills left at least two different outcomes" 1 "$(( $(kinds sftp) >= 2 ))"
check "at least 20 kills" 1 "$(( kills >= 20 ))"
echo "record e2e took $(took)"
finish "record e2e"
