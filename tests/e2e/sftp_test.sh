#!/usr/bin/env bash
# SFTP delivery (policy 6(2) 電子データの伝送) through the real itaku binary
# to a real OpenSSH server started here on a free loopback port: endpoint
# registration and key checks, probe, the host-key pin, the encrypted and
# the plain-CSV package, a file already at the final name (same / different),
# a wrong client key, an unreachable server, a server killed mid-upload and
# restarted, the daemon itself killed mid-upload, and the leak test on what
# reached the server. Changing the server, the pin or the key is a proposal
# a second person approves (`approved`); the client keys handed to the CLI
# are readable by its group (root), as the CLI runs as a staff OS user.
# Usage: sftp_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
source "$SRC/ops/lib/sshd.sh"
cleanup() { itaku_sshd_stop; }
from=$(day "-30 days") until=$(day "+5 years")
inbox() { (cd "$SSHD_INBOX" && ls -A | tr '\n' ' ' | sed 's/ $//'); }
next_id() { echo $(( $(sql "SELECT coalesce(max(id), 0) FROM delivery") + 1 )); }
audit_count() { sql "SELECT count(*) FROM audit_event WHERE action = '$1'"; }

itaku_sshd_start "$work/server" || exit 1
chmod g+r "$SSHD_CLIENT_KEY"   # ssh-keygen writes 0600; the CLI reads it as group root
url="sftp://$SSHD_USER@127.0.0.1:$SSHD_PORT/$SSHD_INBOX"   # /<absolute path>: //...

withheld=name_kana,postal_code,email,birth_date,gender,occupation,bank_code,branch_code,account_type
"$GEN" --rows 500 --seed 21 --encoding cp932 --header labels --canary "$withheld" \
  --out "$work/export.csv" || exit 1
printf 'nda\n' > "$work/nda.pdf"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 365 -subj "/CN=agency-a" 2>/dev/null
itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" >/dev/null
itaku nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/billing.toml"
sed 's/^id = .*/id = "agency-billing-csv"/; s/^encoding = .*/encoding = "utf-8"\npackage = "csv"/' \
  "$work/billing.toml" > "$work/billing-csv.toml"
approved profile import "$work/billing.toml"; [ "$rc" -eq 0 ] || { echo "$err" >&2; exit 1; }
approved profile import "$work/billing-csv.toml"; [ "$rc" -eq 0 ] || { echo "$err" >&2; exit 1; }

# Key checks at registration: weak, passphrase without a source.
ssh-keygen -q -t rsa -b 1024 -N '' -f "$work/weak" 2>/dev/null
chmod g+r "$work/weak"
run contractor update agency-a --sftp "$url" --key "$work/weak"
check "weak key refused" 1 "$rc"
contains "weak key reason" "RSA key is 1024 bits; at least 2048 required" "$err"
ssh-keygen -q -t ed25519 -N 'correct horse' -f "$work/locked"
chmod g+r "$work/locked"
run contractor update agency-a --sftp "$url" --key "$work/locked"
check "locked key without source refused" 1 "$rc"
contains "locked key reason" "is protected by a passphrase" "$err"
check "nothing registered" "" "$(sql "SELECT url FROM sftp_endpoint")"
check "refusals audited" 2 "$(audit_count contractor.update.refused)"

# Registered without a pin: no delivery; probe shows what to pin.
run contractor update agency-a --sftp "$url" --key "$SSHD_CLIENT_KEY"
check "registering a server is a proposal" 0 "$rc"
contains "registering proposed" "proposed: contractor:agency-a" "$out"
check "nothing registered before the approval" "" "$(sql "SELECT url FROM sftp_endpoint")"
register=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
run approval approve "$register"
check "proposer cannot approve the server" 1 "$rc"
contains "proposer's approval refused" "a second person decides it (two-person rule)" "$err"
AS=$OFFICER2 run approval approve "$register"
check "register exit" 0 "$rc"
contains "unpinned said" "no delivery until pinned" "$out"
contains "client key shown" "$(ssh-keygen -lf "$SSHD_CLIENT_KEY.pub" | awk '{print $2}')" "$out"
check "key copied private" "600 $SVC" "$(stat -c '%a %U' "$ITAKU_DB.d/keys/agency-a.key")"
run deliver --profile agency-billing --input "$work/export.csv" --via sftp
check "unpinned deliver refused" 1 "$rc"
contains "unpinned reason" "no host key pinned" "$err"
run contractor probe agency-a
check "probe exit" 0 "$rc"
contains "probe shows fingerprint as OpenSSH does" "host key of 127.0.0.1:$SSHD_PORT: $SSHD_HOST_KEY_FP" "$out"
contains "probe says how to pin" "--host-key $SSHD_HOST_KEY_FP" "$out"

# The wrong pin: refused before authentication, nothing on the server.
ssh-keygen -q -t ed25519 -N '' -f "$work/impostor"
wrong=$(ssh-keygen -lf "$work/impostor.pub" | awk '{print $2}')
approved contractor update agency-a --host-key "$wrong"
check "wrong pin set" 0 "$rc"
run contractor probe agency-a
check "probe mismatch exit" 1 "$rc"
contains "probe mismatch" "does not match the pinned $wrong" "$err"
id=$(next_id)
refused_before=$(audit_count delivery.refused)
run deliver --profile agency-billing --input "$work/export.csv" --via sftp --retry-wait 0.1
check "wrong pin exit" 1 "$rc"
contains "wrong pin reason" "host key $SSHD_HOST_KEY_FP does not match the pinned $wrong" "$err"
check "wrong pin: nothing on the server" "" "$(inbox)"
check "wrong pin: audited" $((refused_before + 1)) "$(audit_count delivery.refused)"
check "wrong pin: one attempt, not retried" "1 refused" \
  "$(sql "SELECT count(*) || ' ' || max(outcome) FROM delivery_attempt WHERE delivery_id = $id")"
check "wrong pin: outcome" refused "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
check "outbox emptied" "" "$(ls -A "$ITAKU_DB.d/outbox")"

# The right pin: a proposal showing the pin it replaces, then the encrypted
# package arrives whole and opens.
run contractor update agency-a --host-key "$SSHD_HOST_KEY_FP"
pin=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
check "the pin is a proposal" 1 "$([ -n "$pin" ] && echo 1 || echo 0)"
run approval show "$pin"
contains "the proposal shows the old and the new pin" "sftp host key pin: $wrong -> $SSHD_HOST_KEY_FP" "$out"
check "the old pin holds until approved" "$wrong" "$(sql "SELECT host_key FROM sftp_endpoint WHERE contractor_id = 'agency-a'")"
AS=$OFFICER2 run approval approve "$pin"
check "pin approved" 0 "$rc"
run contractor probe agency-a
contains "probe match" "matches the pinned key" "$out"
run deliver --profile agency-billing --input "$work/export.csv" --via sftp --json
check "p7m exit" 0 "$rc"
id=$(json '["delivery_id"]')
name="agency-a-$id.zip.p7m"
check "p7m on the server, nothing else" "$name" "$(inbox)"
check "p7m bytes are the recorded package" "$(sql "SELECT package_sha256 FROM delivery WHERE id = $id")" \
  "$(sha256sum "$SSHD_INBOX/$name" | cut -d' ' -f1)"
check "p7m outcome" delivered "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
check "p7m attempts" "1 delivered" "$(json '["attempts"][0]["attempt"]') $(json '["attempts"][0]["outcome"]')"
mkdir -p "$work/p7m"
openssl cms -decrypt -binary -inform DER -in "$SSHD_INBOX/$name" -recip "$work/agency.crt" \
  -inkey "$work/agency.key" -out "$work/p7m/p.zip" 2>/dev/null && unzip -q "$work/p7m/p.zip" -d "$work/p7m/files"
check "p7m opens" 0 $?
check "p7m: no canary" 0 "$(grep -rac 'CANARY-' "$work/p7m/files" | awk -F: '{s+=$2} END {print s+0}')"
check "p7m: 500 records" 501 "$(wc -l < "$work/p7m/files/data.csv")"
check "outbox emptied after delivery" "" "$(ls -A "$ITAKU_DB.d/outbox")"
sid=$(sed -n 2p "$work/p7m/files/data.csv" | cut -d, -f1)
check "history counts it" 1 "$(itaku history --subscriber "$sid" --json | py "import json,sys; print(sum(1 for r in json.load(sys.stdin)['receipts'] if r['delivery_id'] == $id))")"
run delivery show "$id"
contains "delivery show attempt" "attempt 1" "$out"
rm -f "$SSHD_INBOX"/*

# The plain CSV package: readable as is, nothing withheld in it.
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp --json
check "csv exit" 0 "$rc"
csv_id=$(json '["delivery_id"]')
csv="agency-a-$csv_id.csv"
check "csv on the server" "$csv" "$(inbox)"
check "csv header" "$(printf '\xef\xbb\xbfsubscriber_id,name,address,phone,account_number,account_holder,services')" \
  "$(head -n1 "$SSHD_INBOX/$csv" | tr -d '\r')"
check "csv: no canary on the server" 0 "$(grep -ac 'CANARY-' "$SSHD_INBOX/$csv")"
check "csv: hash" "$(sql "SELECT package_sha256 FROM delivery WHERE id = $csv_id")" \
  "$(sha256sum "$SSHD_INBOX/$csv" | cut -d' ' -f1)"

# The same package already at the final name (an answer that was lost):
# delivered, once.
id=$(next_id)
cp "$SSHD_INBOX/$csv" "$SSHD_INBOX/agency-a-$id.csv"
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp --json
check "already there exit" 0 "$rc"
check "already there id" "$id" "$(json '["delivery_id"]')"
check "already there attempt" already-there "$(json '["attempts"][-1]["outcome"]')"
check "already there outcome" delivered "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
check "already there: one file, no .part" "$csv agency-a-$id.csv" "$(inbox)"
check "already there: counted once" 1 \
  "$(sql "SELECT count(*) FROM delivery_subscriber WHERE delivery_id = $id AND subscriber_id = '$sid'")"

# Another file at the final name: refused, left alone.
id=$(next_id)
echo "someone else's file" > "$SSHD_INBOX/agency-a-$id.csv"
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp
check "different file exit" 1 "$rc"
contains "different file reason" "agency-a-$id.csv already exists on the server and differs" "$err"
check "different file untouched" "someone else's file" "$(cat "$SSHD_INBOX/agency-a-$id.csv")"
check "different file: no .part" "" "$(cd "$SSHD_INBOX" && ls -A | grep '\.part$')"
check "different file: refused" refused "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
rm -f "$SSHD_INBOX"/*

# A client key the server does not know: a clear authentication error.
ssh-keygen -q -t ed25519 -N '' -f "$work/stranger"
chmod g+r "$work/stranger"
approved contractor update agency-a --key "$work/stranger"
check "stranger key registered" 0 "$rc"
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp
check "wrong client key exit" 1 "$rc"
contains "wrong client key reason" "public-key authentication as $SSHD_USER at 127.0.0.1:$SSHD_PORT failed" "$err"
check "wrong client key: nothing on the server" "" "$(inbox)"

# A key with a passphrase from the daemon's environment (read when it
# delivers), never the command line, nor the caller's environment.
cat "$work/locked.pub" >> "$SSHD_DIR/authorized_keys"
approved contractor update agency-a --key "$work/locked" --key-passphrase-env AGENCY_KEY_PASSPHRASE
check "locked key registered" 0 "$rc"
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp
check "passphrase variable unset: refused" 1 "$rc"
contains "passphrase variable named" "the key passphrase variable AGENCY_KEY_PASSPHRASE is not set" "$err"
AGENCY_KEY_PASSPHRASE='correct horse' run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp
check "the caller's environment is not the daemon's" 1 "$rc"
contains "caller's variable not used" "the key passphrase variable AGENCY_KEY_PASSPHRASE is not set" "$err"
stop_daemon
AGENCY_KEY_PASSPHRASE='correct horse' start_daemon || exit 1
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp
check "locked key delivers" 0 "$rc"
check "passphrase never stored" 0 "$(grep -ac 'correct horse' "$ITAKU_DB" "$ITAKU_DB-wal" 2>/dev/null | awk -F: '{s+=$2} END {print s+0}')"
check "passphrase never logged" 0 "$(grep -ac 'correct horse' "$work/daemon.log")"
rm -f "$SSHD_INBOX"/*
stop_daemon
start_daemon || exit 1
approved contractor update agency-a --key "$SSHD_CLIENT_KEY"
check "fixture key back" 0 "$rc"

# Nobody listening: retried with backoff, then a clear failure on record.
dead=$(itaku_sshd_free_port)
approved contractor update agency-a --sftp "sftp://$SSHD_USER@127.0.0.1:$dead/$SSHD_INBOX"
contains "moving the server drops the pin" "pin dropped" "$out"
approved contractor update agency-a --host-key "$SSHD_HOST_KEY_FP"
check "pin for the dead server" 0 "$rc"
id=$(next_id)
start=$(date +%s.%N)
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp --retries 2 --retry-wait 0.2
took=$(py "print(round($(date +%s.%N) - $start, 1))")
check "unreachable exit" 1 "$rc"
contains "unreachable reason" "delivery $id to contractor agency-a failed: gave up after 3 attempts: cannot connect to 127.0.0.1:$dead" "$err"
check "unreachable attempts" "1:network-error 2:network-error 3:network-error" \
  "$(sql "SELECT group_concat(attempt || ':' || outcome, ' ') FROM (SELECT * FROM delivery_attempt WHERE delivery_id = $id ORDER BY attempt)")"
check "unreachable outcome" failed "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
check "unreachable waited 0.2 + 0.4 s" 1 "$(py "print(int(0.6 <= $took < 10))")"
check "unreachable audited" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'delivery.failed' AND subject = 'delivery:$id'")"
run delivery show "$id"
contains "show lists the attempts" "attempt 3" "$out"
check "outbox emptied after failure" "" "$(ls -A "$ITAKU_DB.d/outbox")"
approved contractor update agency-a --sftp "$url" --host-key "$SSHD_HOST_KEY_FP"
check "back to the live server" 0 "$rc"

# The server dies mid-upload and comes back: the retry completes, one
# complete file under the final name, no .part.
# big_delivery NAME: starts the big SFTP delivery in the background (its
# output in $work/NAME.out and .err; sets id, deliver_pid and part) and
# waits until more than 5 MB of it is on the server.
big_delivery() {
  id=$(next_id)
  itaku deliver --profile agency-billing-csv --input "$work/big.csv" --via sftp --retries 5 \
    --retry-wait 1 --json > "$work/$1.out" 2> "$work/$1.err" &
  deliver_pid=$!
  part="$SSHD_INBOX/agency-a-$id.csv.part"
  local i
  for i in $(seq 1 6000); do  # the upload to the daemon comes first
    [[ -f "$part" && $(stat -c %s "$part") -gt 5000000 ]] && break
    sleep 0.01
  done
}
"$GEN" --rows 600000 --seed 22 --out "$work/big.csv" || exit 1
big_delivery big
check "upload under way before the kill" 1 "$([[ -f "$part" ]] && echo 1 || echo 0)"
itaku_sshd_kill
itaku_sshd_restart || exit 1
wait "$deliver_pid"
check "after restart exit" 0 $?
check "after restart: one file, no .part" "agency-a-$id.csv" "$(inbox)"
check "after restart: whole" "$(sql "SELECT package_sha256 FROM delivery WHERE id = $id")" \
  "$(sha256sum "$SSHD_INBOX/agency-a-$id.csv" | cut -d' ' -f1)"
check "after restart: first attempt cut off, last delivered" "network-error delivered" \
  "$(sql "SELECT (SELECT outcome FROM delivery_attempt WHERE delivery_id = $id AND attempt = 1) || ' ' || (SELECT outcome FROM delivery_attempt WHERE delivery_id = $id ORDER BY attempt DESC LIMIT 1)")"
check "after restart: records" 600001 "$(wc -l < "$SSHD_INBOX/agency-a-$id.csv")"

# The daemon dies mid-upload (a crash, a power cut): the caller is told it
# went away, and nothing is half-applied. No file under the final name on
# the server; the delivery on record as "sending" (the data may have
# arrived) with every one of its receipts and its audit event, never as
# delivered; the chain intact. The daemon that comes back drops the dead
# one's uploads and delivers again.
rm -f "$SSHD_INBOX"/*
big_delivery crash
check "daemon kill: upload under way before the kill" 1 "$([[ -f "$part" ]] && echo 1 || echo 0)"
kill -KILL "$daemon_pid"
daemon_pid=""
wait "$deliver_pid"
check "daemon kill: the caller fails" 1 $?
contains "daemon kill: the caller is told the daemon went away" \
  "closed the connection before answering" "$(cat "$work/crash.err")"
check "daemon kill: the caller's JSON says so" "False network" \
  "$(py "import json; j=json.load(open('$work/crash.out')); print(j['ok'], j['kind'])")"
check "daemon kill: nothing under the final name" "agency-a-$id.csv.part" "$(inbox)"
check "daemon kill: on record as sending" sending "$(sql "SELECT outcome FROM delivery WHERE id = $id")"
check "daemon kill: never delivered" 0 \
  "$(sql "SELECT count(*) FROM delivery_attempt WHERE delivery_id = $id AND outcome IN ('delivered', 'already-there')")"
check "daemon kill: every receipt or none" "600000 600000" \
  "$(sql "SELECT (SELECT record_count FROM delivery WHERE id = $id) || ' ' || (SELECT count(*) FROM delivery_subscriber WHERE delivery_id = $id)")"
check "daemon kill: writing then sending audited, no outcome" "delivery.writing delivery.sending" \
  "$(sql "SELECT group_concat(action, ' ') FROM audit_event WHERE subject = 'delivery:$id'")"
# The dead daemon left its socket: start_daemon sees it at once, so wait
# until the new daemon answers on it.
start_daemon || exit 1
for i in $(seq 1 100); do itaku delivery show "$id" >/dev/null 2>&1 && break; sleep 0.1; done
run delivery show "$id"
check "daemon kill: show exit" 0 "$rc"
contains "daemon kill: show says sending" "sending" "$out"
check "daemon kill: the dead daemon's uploads dropped" "" "$(ls -A "$ITAKU_DB.d/spool" 2>/dev/null)"
itaku audit verify >/dev/null
check "daemon kill: audit chain intact" 0 $?
rm -f "$SSHD_INBOX"/*
run deliver --profile agency-billing-csv --input "$work/export.csv" --via sftp --json
check "daemon kill: the next delivery goes" 0 "$rc"
check "daemon kill: the next delivery arrives" "agency-a-$(json '["delivery_id"]').csv" "$(inbox)"

# No personal data in anything printed or logged.
check "no canary in the audit trail" 0 "$(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%CANARY-%'")"
itaku audit verify >/dev/null
check "audit chain intact" 0 $?

finish "sftp e2e"
