#!/usr/bin/env bash
# Notices to the persons a leak reached (policy 7(1)[1]) through the real
# itaku binary and a real SMTP server (aiosmtpd, tests/e2e/smtp_sink.py):
# 10,000 persons by e-mail, the server dying halfway, the one-line failure,
# the run resumed with the same command and every person notified exactly
# once (counted per recipient at the server); on a small incident, letters
# for those without e-mail (read back with pdftotext), a person without any
# contact, one missing from the export, and a message the server took but
# never confirmed (uncertain: not sent again unless asked). No name, postal
# address or e-mail address reaches the daemon's log, the audit trail or
# the command's errors.
# Usage: incident_notices_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
command -v pdftotext >/dev/null || { echo "pdftotext is missing (ops/setup installs it)" >&2; exit 1; }
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
  { echo "aiosmtpd is missing (ops/setup installs python3-aiosmtpd)" >&2; exit 1; }
from=$(day "-30 days") until=$(day "+5 years") today=$(day now)
squeeze() { py 'import sys; print("".join(sys.stdin.read().split()))'; }
audits() { sql "SELECT count(*) FROM audit_event WHERE action = '$1'"; }
states() { sql "SELECT state || ' ' || count(*) FROM incident_notice WHERE incident_id = $1 GROUP BY state ORDER BY state" | paste -sd, -; }
# notify ARGS...: `itaku incident notify` through run; every error line is
# kept for the check that none names a person.
notify() { run incident notify "$@"; printf '%s\n' "$err" >> "$work/errors"; }
# field KEYS...: the values at those keys of $out's JSON, space-separated
# ("run.sent" is ["run"]["sent"]).
field() {
  echo "$out" | python3 -c "
import json, sys
j = json.load(sys.stdin)
def at(path):
    v = j
    for k in path.split('.'): v = v[k]
    return v
print(' '.join(str(at(p)) for p in sys.argv[1:]))" "$@"
}

# ---- The SMTP server, which dies on cue ---------------------------------------
SINK_PORT=$(py 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SINK_DIR="$work/sink" SINK_PID=""
sink_start() {  # sink_start [--die-after N | --die-before-reply N]
  /usr/bin/python3 "$SRC/tests/e2e/smtp_sink.py" "$SINK_PORT" "$SINK_DIR" "$@" \
    >> "$work/sink.log" 2>&1 &
  SINK_PID=$!
  local i
  for i in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "smtp_sink.py did not start:" >&2; cat "$work/sink.log" >&2; return 1
}
sink_stop() {
  [ -n "$SINK_PID" ] || return 0
  kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; SINK_PID=""
}
cleanup() { sink_stop; }
received() { wc -l < "$SINK_DIR/recipients.log" | tr -d ' '; }   # messages the server took
# mail_to ADDRESS: the decoded subject, To name and body of the one message to ADDRESS.
mail_to() {
  /usr/bin/python3 - "$SINK_DIR/maildir" "$1" <<'PY'
import mailbox, sys
from email import policy
from email.parser import BytesParser
box, to = sys.argv[1:3]
found = []
maildir = mailbox.Maildir(box, create=False)
for key in maildir.iterkeys():
    with maildir.get_file(key) as f:
        if BytesParser(policy=policy.default).parse(f, headersonly=True)["X-RcptTo"] != to:
            continue
    with maildir.get_file(key) as f:
        found.append(BytesParser(policy=policy.default).parse(f))
if len(found) != 1:
    print(f"{len(found)} messages to {to}")
else:
    m = found[0]
    print(m["Subject"]); print(m["To"].addresses[0].display_name); print(m.get_content())
PY
}

# ---- A contractor that received 10,000 persons, and a small one ---------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 365 -subj "/CN=agency-a/O=Itaku test" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/mailer.key" -out "$work/mailer.crt" \
  -days 365 -subj "/CN=mailer-b/O=Itaku test" 2>/dev/null
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" >/dev/null || exit 1
itaku contractor add mailer-b --name "夢前ダイレクトメール" --cert "$work/mailer.crt" >/dev/null || exit 1
for c in agency-a mailer-b; do
  itaku nda add $c --signed "$from" --from "$from" --until "$until" \
    --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
done
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null || exit 1
sign_contract mailer-b "$from" "$from" "$until" mailing >/dev/null || exit 1
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/agency-billing.toml"
cat > "$work/mailer-dm.toml" <<EOF
id = "mailer-dm"
contractor = "mailer-b"
purpose = "mailing"
fields = ["subscriber_id", "name", "postal_code", "address"]
transports = ["media"]
valid_from = $from
valid_until = $until
retention_days = 30
[output]
format = "csv"
encoding = "utf-8"
EOF
for p in agency-billing mailer-dm; do
  approved profile import "$work/$p.toml"
  check "import $p" 0 "$rc"
done
# The daemon sends through the sink.
{ operator_identity; printf '%s\n' '[smtp]' "url = \"smtp://127.0.0.1:$SINK_PORT\"" \
    'from = "privacy@operator.example"'; } > "$work/daemon.toml"
chmod 644 "$work/daemon.toml"
stop_daemon
start_daemon --config "$work/daemon.toml" || exit 1

"$GEN" --rows 10000 --seed 7 --out "$work/export.csv" || exit 1
mkdir -p "$work/usb"
run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/usb" --json
check "10,000 delivered" "0 10000" "$rc $(json '["records"]')"
# What must never appear outside the messages and letters: every name,
# address and e-mail address of the export (fixed strings, one a line).
# personal EXPORT: appends them to $work/personal.
personal() {
  py "
import csv
with open('$work/personal', 'a') as out:
    for r in csv.DictReader(open('$1', encoding='utf-8-sig')):
        for k in ('name', 'address', 'email'):
            if r[k]: out.write(r[k] + '\n')
"
}
personal "$work/export.csv"

# ---- 10,000 by e-mail, the server dying halfway ------------------------------
run incident open --contractor agency-a --since "$today" --until "$today" --discovered "$today" \
  --summary "委託先の業務用端末がマルウェアに感染し、外部へ通信した記録が見つかりました。" --json
check "incident opened" 0 "$rc"
big=$(json '["id"]')
check "persons in scope" 10000 "$(json '["persons"]')"
check "one notice each, pending" "pending 10000" "$(states "$big")"

sink_start --die-after 5000 || exit 1
log_before=$(stat -c %s "$work/daemon.log")
start=$(date +%s.%N)
notify "$big" --contacts "$work/export.csv"
first_run=$(py "print(round($(date +%s.%N) - $start, 1))")
check "stopped run exit" 1 "$rc"
check "one line" 1 "$(echo "$err" | wc -l)"
contains "failure says why" "itaku: incident $big: notices stopped: the SMTP server failed 20 messages in a row (last: SMTP 127.0.0.1:$SINK_PORT: cannot connect: Connection refused)" "$err"
contains "failure counts" "; 5000 sent in this run, 5000 still to notify; run the same command again to resume" "$err"
check "the server took 5000" 5000 "$(received)"
check "states after the stop" "failed 20,pending 4980,sent 5000" "$(states "$big")"
# (The first may meet the server while it is still going: its error names
# another step.)
check "failures keep the error, no address" 20 \
  "$(sql "SELECT count(*) FROM incident_notice WHERE incident_id = $big AND state = 'failed' AND attempts = 1 AND error LIKE 'SMTP 127.0.0.1:$SINK_PORT: %' AND error NOT LIKE '%@%'")"
check "most could not connect" 1 \
  "$(sql "SELECT count(*) >= 19 FROM incident_notice WHERE incident_id = $big AND state = 'failed' AND error = 'SMTP 127.0.0.1:$SINK_PORT: cannot connect: Connection refused'")"
progress=$(tail -c +"$((log_before + 1))" "$work/daemon.log" | grep -c "^itaku serve: incident $big notices: ")
check "a progress line every 1000" 5 "$progress"
contains "progress line" "itaku serve: incident $big notices: 1000 sent, 0 letters, 0 failed so far (of 10000 persons)" "$(cat "$work/daemon.log")"
wait "$SINK_PID" 2>/dev/null; SINK_PID=""

sink_start || exit 1
notify "$big" --contacts "$work/export.csv" --limit 100 --json
check "--limit: at most that many" "0 100 limit 4900" "$rc $(field run.sent stopped still_to_notify)"
start=$(date +%s.%N)
notify "$big" --contacts "$work/export.csv" --json
second_run=$(py "print(round($(date +%s.%N) - $start, 1))")
check "resumed run exit" 0 "$rc"
check "resumed run sent the rest" "4900 0 0 0" "$(field run.sent run.failed still_to_notify uncertain)"
check "complete" True "$(json '["complete"]')"
check "every notice sent" "sent 10000" "$(states "$big")"
check "the server took 10000" 10000 "$(received)"
# Exactly once per person: the server's recipients are the export's
# addresses, each as often as the export lists it (made-up addresses can
# repeat among 10,000 people).
check "each person exactly once" "" \
  "$(py "
import csv
want = sorted(r['email'] for r in csv.DictReader(open('$work/export.csv', encoding='utf-8-sig')))
got = sorted(open('$SINK_DIR/recipients.log').read().split())
print('' if want == got else 'differ: %d wanted, %d got' % (len(want), len(got)))")"
echo "10,000 notices: $first_run s to the stop at 5,000, $second_run s for the last 4,900 (resumed run)"

notify "$big" --contacts "$work/export.csv" --json
check "a third run sends nothing" "0 0" "$rc $(field run.sent)"
check "still 10000 at the server" 10000 "$(received)"

# One message read back: to the person, in Japanese, what they lost, whom to ask.
read -r sid email name < <(py "
import collections, csv
rows = list(csv.DictReader(open('$work/export.csv', encoding='utf-8-sig')))
n = collections.Counter(r['email'] for r in rows)
r = next(r for r in rows if n[r['email']] == 1)
print(r['subscriber_id'], r['email'], r['name'])")
message=$(mail_to "$email")
check "subject" "個人情報の漏えいに関するお詫びとお知らせ" "$(echo "$message" | sed -n 1p)"
check "addressed by name" "$name" "$(echo "$message" | sed -n 2p)"
body=$(echo "$message" | squeeze)
contains "greets by name" "$(echo "$name" | squeeze)様" "$body"
contains "names the contractor" "夢前収納サービス" "$body"
contains "the summary" "委託先の業務用端末がマルウェアに感染し" "$body"
contains "the items the person's receipts carried" "加入者番号、氏名、住所、電話番号、口座番号、口座名義、サービス内容" "$body"
contains "the operator's contact" "夢前ケーブルテレビ株式会社〒671-2103兵庫県姫路市夢前町前之庄1-1電話079-000-0000" "$body"
contains "incident number" "事案番号$big" "$body"

# One audit event per run, with counts, nothing about a person.
check "one audit event per run" 4 "$(audits incident.notify)"
check "audited counts" '{"email": 5000, "letter": 0} failed' \
  "$(sql "SELECT details FROM audit_event WHERE action = 'incident.notify' ORDER BY seq LIMIT 1" |
     py 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["via"]), "failed" if d["run"]["failed"] == 20 else d["run"])')"

# ---- Letters, no contact, not in the file, uncertain --------------------------
"$GEN" --rows 40 --seed 9 --out "$work/small.csv" || exit 1
personal "$work/small.csv"
run deliver --profile mailer-dm --input "$work/small.csv" --via media --out "$work/usb" --json
check "40 delivered" 0 "$rc"
# The export the operator hands in: rows 1-8 without e-mail (letters), row 9
# with neither e-mail nor postal address, row 10 left out; in CP932 with
# Japanese labels, as Excel saves it.
py "
import csv
rows = list(csv.DictReader(open('$work/small.csv', encoding='utf-8-sig')))
with open('$work/small-contacts.csv', 'w', encoding='cp932', newline='') as f:
    w = csv.writer(f, lineterminator='\r\n')
    w.writerow(['加入者番号', '氏名', '郵便番号', '住所', '電子メールアドレス'])
    for i, r in enumerate(rows):
        if i == 9: continue
        email = '' if i < 9 else r['email']
        postal, address = (r['postal_code'], r['address']) if i != 8 else ('', '')
        w.writerow([r['subscriber_id'], r['name'], postal, address, email])
"
run incident open --contractor mailer-b --since "$today" --until "$today" --discovered "$today" \
  --summary "ダイレクトメールの宛名データを保存した媒体を委託先が紛失しました。" --json
small=$(json '["id"]')
check "small incident" "0 40" "$rc $(json '["persons"]')"
before=$(received)
sink_stop
sink_start --die-before-reply 3 || exit 1
# Letters first (the first ids), the person without contact, then e-mail:
# the server takes 2, takes the third without confirming it and dies, and
# the run stops after 20 failures in a row (the unconfirmed one counts).
notify "$small" --contacts "$work/small-contacts.csv"
check "small run stops" 1 "$rc"
check "small run's line" "itaku: incident $small: notices stopped: the SMTP server failed 20 messages in a row (last: SMTP 127.0.0.1:$SINK_PORT: cannot connect: Connection refused); 2 sent in this run, 28 still to notify; run the same command again to resume" "$err"
check "small states" "failed 19,letter 8,no-contact 1,pending 9,sending 1,sent 2" "$(states "$small")"
check "the server took 3 (the third unconfirmed)" $((before + 3)) "$(received)"
contains "the unconfirmed one says why" "uncertain: SMTP 127.0.0.1:$SINK_PORT: end of DATA: " \
  "$(sql "SELECT error FROM incident_notice WHERE incident_id = $small AND state = 'sending'")"
letters="$ITAKU_DB.d/letters/incident-$small"
check "eight letters" 8 "$(ls "$letters" | grep -c '\.pdf$')"
read -r lsid lname laddress < <(py "
import csv
r = list(csv.DictReader(open('$work/small.csv', encoding='utf-8-sig')))[0]
print(r['subscriber_id'], ''.join(r['name'].split()), ''.join(r['address'].split()))")
text=$(pdftotext "$letters/$lsid.pdf" - | squeeze)
contains "letter to the person by name" "${lname}様" "$text"
contains "letter to their address" "$laddress" "$text"
contains "letter's subject" "個人情報の漏えいに関するお詫びとお知らせ" "$text"
contains "letter's summary" "ダイレクトメールの宛名データを保存した媒体を委託先が紛失しました。" "$text"
contains "letter's items" "加入者番号、氏名、郵便番号、住所" "$text"
check "letter is 0600" 600 "$(stat -c %a "$letters/$lsid.pdf")"

wait "$SINK_PID" 2>/dev/null; SINK_PID=""
sink_start || exit 1
notify "$small" --contacts "$work/small-contacts.csv" --json
check "resumed small run: sent, letters, uncertain" "0 27 0 1" "$rc $(field run.sent run.letters uncertain)"
check "the missing person is still to notify" "1 False" "$(field still_to_notify complete)"
check "uncertain not sent again" 1 "$(sql "SELECT count(*) FROM incident_notice WHERE incident_id = $small AND state = 'sending'")"
check "the server took the failed and untried ones" $((before + 30)) "$(received)"
notify "$small" --contacts "$work/small-contacts.csv"
contains "text shows the uncertain one" "uncertain:              1  (cut off after the message went out; not sent again unless --resend-uncertain)" "$out"
contains "text shows the missing one" "not in contacts file:   1  (left pending)" "$out"
notify "$small" --contacts "$work/small-contacts.csv" --resend-uncertain --json
check "resent when asked" "0 1" "$rc $(field run.sent)"
check "states of the small incident" "letter 8,no-contact 1,pending 1,sent 30" "$(states "$small")"
check "letters were not mailed" 30 \
  "$(sql "SELECT count(DISTINCT subscriber_id) FROM incident_notice WHERE incident_id = $small AND via = 'email'")"

# ---- Refusals -----------------------------------------------------------------
printf 'subscriber_id,name\r\nS00000001,x\r\n' > "$work/no-contact-columns.csv"
notify "$small" --contacts "$work/no-contact-columns.csv"
check "an export with neither e-mail nor address refused" 1 "$rc"
contains "refusal says why" "has neither an email nor an address column; a notice needs one of them" "$err"
notify 999 --contacts "$work/small-contacts.csv"
check "unknown incident" "itaku: unknown incident 999" "$err"
# Nothing goes out signed by a placeholder, nor mail from privacy@localhost.
held=$(received)
refused_before=$(audits incident.notify.refused)
printf '%s\n' '[smtp]' "url = \"smtp://127.0.0.1:$SINK_PORT\"" > "$work/bare.toml"
{ operator_identity; printf '%s\n' '[smtp]' "url = \"smtp://127.0.0.1:$SINK_PORT\""; } > "$work/no-sender.toml"
chmod 644 "$work/bare.toml" "$work/no-sender.toml"
stop_daemon
start_daemon --config "$work/bare.toml" || exit 1
notify "$small" --contacts "$work/small-contacts.csv"
check "placeholders refused" "itaku: incident $small: a notice to the persons needs the operator's own details: set [requests] operator_name, operator_address, operator_phone in the daemon's config (serve --config)" "$err"
stop_daemon
start_daemon --config "$work/no-sender.toml" || exit 1
notify "$small" --contacts "$work/small-contacts.csv"
check "no sender refused" "itaku: incident $small: e-mail needs the operator's own details: set [smtp] from in the daemon's config (serve --config)" "$err"
check "refusals audited" $((refused_before + 2)) "$(audits incident.notify.refused)"
check "nothing sent while refused" "$held" "$(received)"

# ---- Nothing personal outside the notices -------------------------------------
sql "SELECT details FROM audit_event" > "$work/audit.txt"
check "no name, address or e-mail in the daemon's log" 0 "$(grep -c -F -f "$work/personal" "$work/daemon.log")"
check "none in the audit trail" 0 "$(grep -c -F -f "$work/personal" "$work/audit.txt")"
check "none in the errors" 0 "$(grep -c -F -f "$work/personal" "$work/errors")"
check "none in the notice table" 0 "$(sql "SELECT * FROM incident_notice" | grep -c -F -f "$work/personal")"

finish "incident notices"
