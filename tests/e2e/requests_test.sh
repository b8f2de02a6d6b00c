#!/usr/bin/env bash
# Subscriber requests through the real itaku binary: staff roles (OS users
# the daemon knows by their uid), the corrective-action state machine (every
# legal step, the illegal ones refused), deadlines (a proposal) and the
# overdue list with the clock handed in, e-mail
# through a real SMTP server (python3-aiosmtpd on a free loopback port) with
# the server down and back, the letter for the post, and special requests
# changing exactly one subscriber's output in a real delivery.
# Usage: requests_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
source "$SRC/ops/lib/smtp.sh"
cleanup() { itaku_smtp_stop; }
# The staff of this test, each an OS account: 鈴木 a second privacy
# officer, 窓口担当 the operator who does the daily work (and runs every
# command below unless AS says otherwise).
SUZUKI=itk-suzuki WINDOW=itk-madoguchi TANAKA=itk-tanaka
for u in $SUZUKI $WINDOW $TANAKA; do os_user "$u"; done
# mail TO FIELD: the decoded subject or body of the one message sent to TO.
mail() {
  python3 - "$SMTP_MAILDIR" "$1" "$2" <<'PY'
import mailbox, sys
from email import policy
from email.parser import BytesParser
box, to, field = sys.argv[1:4]
found = []
maildir = mailbox.Maildir(box, create=False)
for key in maildir.keys():
    with maildir.get_file(key) as f:
        msg = BytesParser(policy=policy.default).parse(f)
    if to in str(msg["To"]):
        found.append(msg)
if len(found) != 1:
    print(f"{len(found)} messages to {to}")
elif field == "subject":
    print(str(found[0]["Subject"]))
elif field == "charset":
    print(found[0].get_content_charset())
else:
    print(found[0].get_content())
PY
}

itaku_smtp_start "$work/smtp" || exit 1
itaku contractor add agency-a --name "夢前収納サービス" --email ops@agency-a.example >/dev/null

# Staff and roles: a privacy officer is a proposal a second officer approves.
run staff add 鈴木 --os-user "$SUZUKI" --role privacy-officer
check "officer proposed" 0 "$rc"
contains "officer is a proposal" "proposed: staff:鈴木" "$out"
officer_proposal=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
run staff list
check "not an officer before the approval" "" "$(echo "$out" | grep '^鈴木')"
AS=$OFFICER2 run approval approve "$officer_proposal"
check "officer added" 0 "$rc"
contains "officer added says so" "added 鈴木 (OS user $SUZUKI) as privacy-officer" "$out"
run staff add 窓口担当 --os-user "$WINDOW" --role operator
check "operator added at once" 0 "$rc"
contains "operator added says so" "added 窓口担当 (OS user $WINDOW) as operator" "$out"
run staff add 田中 --os-user "$TANAKA" --role boss
check "unknown role refused" 1 "$rc"
contains "unknown role reason" "unknown role boss" "$err"
run staff list
contains "staff listed" "鈴木	privacy-officer	$SUZUKI" "$out"
contains "operator listed" "窓口担当	operator	$WINDOW" "$out"
check "unknown role not registered" "" "$(echo "$out" | grep '^田中')"
AS=$WINDOW

# The legal path, justified, by e-mail.
run request add --subscriber S90001 --contractor agency-a --channel phone \
  --text "夜間の督促電話をやめてほしい" --email requester@example.invalid --json
check "add exit" 0 "$rc"
id=$(json '["id"]')
check "received by the operator the kernel names" 窓口担当 "$(json '["received_by"]')"
check "received" received "$(json '["state"]')"
run request notify "$id" --smtp "smtp://127.0.0.1:$SMTP_PORT"
check "notify before a decision refused" 1 "$rc"
contains "notify before decision reason" "has not been decided yet; a requester is told the outcome only after a decision (policy 6(4))" "$err"
run request instruct "$id" --text "x" --smtp "smtp://127.0.0.1:$SMTP_PORT"
check "instruct before a decision refused" 1 "$rc"
run request decide "$id" --justified --reason "深夜の架電は委託契約の範囲外"
check "operator deciding refused" 1 "$rc"
contains "operator deciding reason" "request.decide is not open to an operator (privacy officers only)" "$err"
check "operator's refusal leaves it received" received "$(sql "SELECT state FROM corrective_request WHERE id = $id")"
AS=$SUZUKI run request decide "$id" --justified --reason "深夜の架電は委託契約の範囲外"
check "officer decides" 0 "$rc"
contains "the decision names the officer's staff name" "decided: justified (鈴木)" "$out"
check "the audit names the officer" 鈴木 "$(sql "SELECT actor FROM audit_event WHERE action = 'request.decide' AND subject = 'request:$id'")"
AS=$SUZUKI run request decide "$id" --not-justified --reason "x"
check "second decision refused" 1 "$rc"
run request answer "$id" --text "early"
check "answer before instruction refused" 1 "$rc"
run request instruct "$id" --text "21時以降の架電を停止してください" --smtp "smtp://127.0.0.1:$SMTP_PORT"
check "instruct exit" 0 "$rc"
check "instruction arrived" "21時以降の架電を停止してください" \
  "$(mail ops@agency-a.example body | grep -o '21時以降の架電を停止してください')"
contains "instruction subject decodes" "個人情報の取扱いの改善について" "$(mail ops@agency-a.example subject)"
run request answer "$id" --text "架電時間を9-20時に変更しました"
check "answer exit" 0 "$rc"
run request close "$id" --not-carried-out
check "not carried out needs a reason" 1 "$rc"
contains "reason demanded" "needs the reason" "$err"
run request close "$id" --carried-out
check "close exit" 0 "$rc"
run request notify "$id" --smtp "smtp://127.0.0.1:$SMTP_PORT" --json
check "notify exit" 0 "$rc"
check "notified" notified "$(json '["state"]')"
subject=$(mail requester@example.invalid subject)
contains "notice subject is Japanese and decodes" "対応結果のお知らせ" "$subject"
check "notice charset" utf-8 "$(mail requester@example.invalid charset)"
body=$(mail requester@example.invalid body)
contains "notice states the request" "夜間の督促電話をやめてほしい" "$body"
contains "notice states the outcome" "対応いたしました" "$body"
check "notice text kept" 1 "$(sql "SELECT count(*) FROM corrective_request WHERE id = $id AND details LIKE '%対応いたしました%'")"
run request notify "$id" --smtp "smtp://127.0.0.1:$SMTP_PORT"
check "second notice refused" 1 "$rc"
for step in add decide instruct answer close notify; do
  check "step $step audited" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'request.$step' AND subject = 'request:$id'")"
done
check "audit keeps no request text" 0 "$(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%督促%'")"

# Not justified: straight to the notice, with the reason; never closed as carried out.
run request add --subscriber S90003 --contractor agency-a --channel counter --text "請求書を送らないでほしい" --json
id2=$(json '["id"]')
AS=$SUZUKI run request decide "$id2" --not-justified --reason "請求書の送付は契約上必要なため"
run request close "$id2" --carried-out
check "unjustified closed as carried out refused" 1 "$rc"
contains "unjustified close reason" "was judged not justified; it cannot be closed as carried out" "$err"

# The server is down: not notified, visible, and a later retry succeeds.
itaku_smtp_stop
run request notify "$id2" --smtp "smtp://127.0.0.1:$SMTP_PORT" --email other@example.invalid
check "server down exit" 1 "$rc"
contains "server down reason" "not yet notified" "$err"
run request show "$id2" --json
check "still decided" decided "$(json '["state"]')"
check "failure kept" 1 "$(json '["notice_error"] != ""' | grep -c True)"
run request list --state decided
contains "list shows not yet notified" "not yet notified" "$out"
itaku_smtp_restart || exit 1
# The retry takes the server from the daemon's settings: the caller's
# environment is not the daemon's.
ITAKU_SMTP="smtp://127.0.0.1:$SMTP_PORT" run request notify "$id2" --email other@example.invalid
check "the caller's ITAKU_SMTP is not used" 1 "$rc"
contains "no server configured" "no SMTP server is configured" "$err"
stop_daemon
ITAKU_SMTP="smtp://127.0.0.1:$SMTP_PORT" start_daemon || exit 1
run request notify "$id2" --email other@example.invalid
check "retry exit" 0 "$rc"
body=$(mail other@example.invalid body)
contains "unjustified notice outcome" "対応いたしませんでした" "$body"
contains "unjustified notice reason" "請求書の送付は契約上必要なため" "$body"

# No e-mail address: a letter for the post, from the export's address.
"$GEN" --rows 5 --seed 3 --out "$work/subscribers.csv" || exit 1
sid=$(sed -n 2p "$work/subscribers.csv" | cut -d, -f1)
run request add --subscriber "$sid" --contractor agency-a --channel letter --text "担当者を変えてほしい" --json
id3=$(json '["id"]')
AS=$SUZUKI itaku request decide "$id3" --not-justified --reason "担当者の指定はお受けしておりません" >/dev/null
run request notify "$id3"
check "no address at all refused" 1 "$rc"
contains "no address reason" "no e-mail address for subscriber $sid" "$err"
# A letter is a PDF for a window envelope; nothing is printed signed by a
# placeholder. A daemon without the operator's details refuses, naming the
# settings, and audits the refusal.
stop_daemon
: > "$work/bare.toml" && chmod 644 "$work/bare.toml"
ITAKU_SMTP="smtp://127.0.0.1:$SMTP_PORT" start_daemon --config "$work/bare.toml" || exit 1
refusals_before=$(sql "SELECT count(*) FROM audit_event WHERE action = 'request.notify.refused'")
run request notify "$id3" --subscriber-data "$work/subscribers.csv" --letter
check "letter refused while the operator's details are placeholders" 1 "$rc"
contains "refusal names the settings" "a letter needs the operator's own details: set [requests] operator_name, operator_address, operator_phone" "$err"
check "letter refusal audited" $((refusals_before + 1)) "$(sql "SELECT count(*) FROM audit_event WHERE action = 'request.notify.refused'")"
check "the audited reason names the settings" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'request.notify.refused' AND details LIKE '%operator_address, operator_phone%'")"
check "no letter written" "" "$(ls "$ITAKU_DB.d/letters" 2>/dev/null)"
run request notify "$id3" --email again@example.invalid
check "e-mail refused while the sender is a placeholder" 1 "$rc"
contains "e-mail refusal names the settings" "set [requests] operator_name, [smtp] from" "$err"
stop_daemon
ITAKU_SMTP="smtp://127.0.0.1:$SMTP_PORT" start_daemon || exit 1
printf '[requests]\noperator_name = "夢前ケーブルテレビ"\nwareki = true\n' > "$work/mail.toml"
run request notify "$id3" --subscriber-data "$work/subscribers.csv" --letter --config "$work/mail.toml"
check "letter exit" 0 "$rc"
letter="$ITAKU_DB.d/letters/request-$id3-outcome.pdf"
text=$(pdftotext "$letter" - | tr -d ' \n\f')
address=$(python3 -c "import csv,sys; r=list(csv.DictReader(open('$work/subscribers.csv', encoding='utf-8-sig'))); print(r[0]['address'])")
contains "letter has the address" "$(echo "$address" | tr -d ' ')" "$text"
contains "letter has the reason" "担当者の指定はお受けしておりません" "$text"
contains "letter signed as --config says" "夢前ケーブルテレビ" "$text"
contains "sender block from the daemon's config" "兵庫県姫路市夢前町前之庄1-1" "$text"
contains "date in 和暦 (JST)" "令和$(( $(TZ=Asia/Tokyo date +%Y) - 2018 ))年$(TZ=Asia/Tokyo date +%-m)月$(TZ=Asia/Tokyo date +%-d)日" "$text"
# The window of a 長形3号 envelope (A4 folded in three: 20-110 mm from the
# left, 12-57 mm from the top): the addressee shows there, the sender not.
window=$(pdftotext -f 1 -l 1 -x 57 -y 34 -W 255 -H 128 "$letter" - | tr -d ' \n\f')
contains "addressee in the window" "$(echo "$address" | tr -d ' ' | cut -c1-6)" "$window"
check "sender not in the window" "" "$(echo "$window" | grep -o '079-000-0000')"
check "every font embedded" "" "$(pdffonts "$letter" | tail -n +3 | awk '$(NF-4) != "yes"')"
check "letter is 0600" "600" "$(stat -c %a "$letter")"
check "no address in the audit trail" 0 "$(sql "SELECT count(*) FROM audit_event WHERE instr(details, '$address') > 0")"

# Deadlines: decide within 7 days, notify within 14, counted in the
# operator's calendar days from the day received; the clock is moved.
run request add --subscriber S90004 --contractor agency-a --channel web --text "督促の文面を改めてほしい" --json
id4=$(json '["id"]')
received=$(day "$(sql "SELECT received_at FROM corrective_request WHERE id = $id4")")
on_day() { noon "$(day "$received + $1 days")"; }  # on_day N: midday N days after receipt
CLOCK=$(on_day 7) run request list --overdue --json
check "not overdue on day 7" "[]" "$(json '' | tr -d ' \n')"
CLOCK=$(on_day 8) run request list --overdue --json
check "decision overdue on day 8" "$id4 decision overdue since $(day "$received + 8 days")" "$(json '[0]["id"]') $(json '[0]["overdue"][0]')"
CLOCK=$(on_day 15) run request list --overdue
contains "notice overdue on day 15" "notice overdue since $(day "$received + 15 days")" "$out"
run request deadlines --decide-within 3 --notify-within 10
check "operator setting deadlines refused" 1 "$rc"
contains "deadlines need an officer" "request.deadlines.set is not open to an operator (privacy officers only)" "$err"
AS=$SUZUKI run request deadlines --decide-within 3 --notify-within 10
check "deadlines proposed" 0 "$rc"
contains "deadlines are a proposal" "proposed: " "$out"
deadlines_proposal=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
CLOCK=$(on_day 4) run request list --overdue --json
check "not shorter before the approval" "[]" "$(json '' | tr -d ' \n')"
AS=$SUZUKI run approval approve "$deadlines_proposal"
check "proposer cannot approve the deadlines" 1 "$rc"
contains "two-person rule" "was proposed by 鈴木; a second person decides it (two-person rule)" "$err"
run approval approve "$deadlines_proposal"
check "operator cannot approve the deadlines" 1 "$rc"
contains "operator's approval refused" "only a privacy officer other than the proposer decides it (窓口担当 is operator)" "$err"
AS=$OFFICER run approval approve "$deadlines_proposal"
check "deadlines set" 0 "$rc"
contains "deadlines approved" "approved proposal $deadlines_proposal" "$out"
CLOCK=$(on_day 4) run request list --overdue --json
check "shorter deadline" "$id4" "$(json '[0]["id"]')"

# Special requests, through a real delivery.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/a.key" -out "$work/a.crt" -days 30 \
  -subj "/CN=agency-a" 2>/dev/null
approved contractor update agency-a --cert "$work/a.crt"
check "certificate registered" 0 "$rc"
printf 'nda\n' > "$work/nda.pdf"
itaku nda add agency-a --signed "$(day "-40 days")" --from "$(day "-30 days")" --until "$(day "+5 years")" \
  --document "$work/nda.pdf" --signatory x >/dev/null
sign_contract agency-a "$(day "-40 days")" "$(day "-30 days")" "$(day "+5 years")" billing >/dev/null
sed "s/^valid_from = .*/valid_from = $(day "-30 days")/; s/^valid_until = .*/valid_until = $(day "+5 years")/"'; s/^encoding = .*/encoding = "utf-8"/' \
  "$SRC/ops/examples/agency-billing.toml" > "$work/billing.toml"
approved profile import "$work/billing.toml"
check "profile imported" 0 "$rc"
"$GEN" --rows 50 --seed 8 --out "$work/export.csv" || exit 1
s1=$(sed -n 2p "$work/export.csv" | cut -d, -f1)
s2=$(sed -n 3p "$work/export.csv" | cut -d, -f1)
s3=$(sed -n 4p "$work/export.csv" | cut -d, -f1)
deliver() {  # deliver NAME: delivers, decrypts, leaves data.csv in $work/NAME
  mkdir -p "$work/$1/usb"
  run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/$1/usb" --json
  local pkg
  pkg=$(json '["package"]')
  openssl cms -decrypt -binary -inform DER -in "$pkg" -recip "$work/a.crt" -inkey "$work/a.key" \
    -out "$work/$1/p.zip" 2>/dev/null && unzip -q -o "$work/$1/p.zip" -d "$work/$1"
}
deliver before
check "baseline rows" 51 "$(wc -l < "$work/before/data.csv")"
run special add --subscriber "$s1" --contractor agency-a --exclude
check "exclude added" 0 "$rc"
run special add --subscriber "$s2" --contractor agency-a --withhold phone
printf 'consent form, signed\n' > "$work/consent.pdf"
run special add --subscriber "$s3" --purpose billing --extend email --consent "$work/consent.pdf"
check "operator recording an extension refused" 1 "$rc"
contains "extension needs an officer" "only a privacy officer records an extension" "$err"
AS=$SUZUKI run special add --subscriber "$s3" --purpose statistics --extend name --consent "$work/consent.pdf"
check "extension of statistics refused" 1 "$rc"
AS=$SUZUKI run special add --subscriber "$s3" --purpose billing --extend email
check "extension without consent refused" 1 "$rc"
contains "consent reason" "an extension needs the subscriber's consent on file" "$err"
AS=$SUZUKI run special add --subscriber "$s3" --purpose billing --extend email --consent "$work/consent.pdf" --json
check "extension with consent" 0 "$rc"
ext_id=$(json '["id"]')
deliver after
check "delivery shaped" 0 "$rc"
check "shaped by three requests" 3 "$(json '["special_requests"]' | tr -cd ',' | wc -c | awk '{print $1+1}')"
after_rows=$(python3 - "$work/before/data.csv" "$work/after/data.csv" "$s1" "$s2" "$s3" <<'PY'
import csv, sys
before = {r["subscriber_id"]: r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig"))}
after_list = list(csv.DictReader(open(sys.argv[2], encoding="utf-8-sig")))
after = {r["subscriber_id"]: r for r in after_list}
s1, s2, s3 = sys.argv[3:6]
out = []
out.append("excluded" if s1 not in after else "present")
out.append("phone-empty" if after[s2]["phone"] == "" and before[s2]["phone"] != "" else "phone-kept")
out.append("s2-rest-same" if all(after[s2][k] == before[s2][k] for k in before[s2] if k != "phone") else "s2-changed")
out.append("s3-email" if after[s3]["email"] != "" else "s3-no-email")
others = [k for k in after if k not in (s2, s3)]
out.append("others-unchanged" if all({f: after[k][f] for f in before[k]} == before[k] and after[k]["email"] == "" for k in others) else "others-changed")
out.append(str(len(after_list)))
print(" ".join(out))
PY
)
check "exactly one subscriber's output each" "excluded phone-empty s2-rest-same s3-email others-unchanged 49" "$after_rows"
did=$(json '["delivery_id"]')
check "delivery records the special requests" 3 "$(sql "SELECT count(*) FROM delivery_special_request WHERE delivery_id = $did")"
check "excluded subscriber not received" 0 "$(sql "SELECT count(*) FROM delivery_subscriber WHERE delivery_id = $did AND subscriber_id = '$s1'")"
# A withholding cancels an extension of the same field.
run special add --subscriber "$s3" --contractor agency-a --withhold email --json
withhold_id=$(json '["id"]')
deliver cancelled
check "withholding wins over an extension" "" "$(python3 -c "
import csv
for r in csv.DictReader(open('$work/cancelled/data.csv', encoding='utf-8-sig')):
    if r['subscriber_id'] == '$s3': print(r['email'])")"
AS=$SUZUKI itaku special end "$withhold_id" --reason "entered for the wrong contractor" >/dev/null
run special end "$ext_id" --reason "consent withdrawn"
check "operator ending another's request refused" 1 "$rc"
check "operator ending reason" "itaku: special request $ext_id was entered by 鈴木; only they or a privacy officer end it (窓口担当 is operator)" "$err"
AS=$SUZUKI run special end "$ext_id" --reason "consent withdrawn"
check "officer ends" 0 "$rc"
deliver ended
check "extension gone once ended" "" "$(python3 -c "
import csv
for r in csv.DictReader(open('$work/ended/data.csv', encoding='utf-8-sig')):
    if 'email' in r and r['email']: print(r['subscriber_id'])")"

# The daily checkpoint leaves the machine: mailed to the privacy officers
# ([audit] checkpoint_mail_to) when the daemon starts a day without one.
stop_daemon
printf '[smtp]\nurl = "smtp://127.0.0.1:%s"\nfrom = "itaku@operator.example"\n[audit]\ncheckpoint_mail_to = "privacy@operator.example, dpo@operator.example"\n' \
  "$SMTP_PORT" >"$work/daemon.toml"
operator_identity >>"$work/daemon.toml"  # nothing is mailed signed by a placeholder
chmod 644 "$work/daemon.toml"
start_daemon --config "$work/daemon.toml" || exit 1
for i in $(seq 1 100); do
  [[ "$(mail dpo@operator.example subject)" == 【Itaku】* ]] && break
  sleep 0.1
done
contains "checkpoint mailed to an officer" "【Itaku】監査証跡チェックポイント $(TZ=Asia/Tokyo date +%F)" \
  "$(mail privacy@operator.example subject)"
body=$(mail dpo@operator.example body | tr -d '\r')
code=$(echo "$body" | sed -n 's/^コード(紙の台帳用): //p')
echo "$body" | sed -n '/^--- checkpoint.json ---$/,$p' | tail -n +2 >"$work/cp.json"
chmod 644 "$work/cp.json"
seq=$(python3 -c "import json; print(json.load(open('$work/cp.json'))['seq'])")
run audit verify --checkpoint "$work/cp.json" --checkpoint "$code"
check "the mailed checkpoint verifies" 0 "$rc"
contains "the mailed file matches" "checked: checkpoint $work/cp.json: event $seq matches" "$out"
contains "the mailed code matches" "checked: code $code: event $seq matches" "$out"
check "mailed once, audited" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'audit.checkpoint.mailed'")"

itaku audit verify >/dev/null
check "audit chain intact" 0 $?
finish "requests e2e"
