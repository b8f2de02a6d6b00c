#!/usr/bin/env bash
# Corrections, never deletions (issue 12), through the real daemon and CLI:
# a media package never handed over is cancelled and no longer counts as
# received; one handed over is not; a returned medium's destruction is
# recorded later; an NDA entered in error is withdrawn by a privacy officer
# (listing the deliveries that relied on it) and covers nothing after; a
# special request is ended by the operator who entered it or an officer,
# and one for an id no delivery carried is accepted with a warning. Each
# correction is an audit event naming what it corrects.
# Usage: corrections_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
CLERK2=itk-clerk2
os_user "$CLERK2"
from=$(day "-30 days") until=$(day "+5 years") today=$(day now)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 365 -subj "/CN=agency/O=Itaku test" 2>/dev/null || exit 1
"$GEN" --rows 20 --seed 5 --out "$work/export.csv" || exit 1
printf 'nda\n' > "$work/nda.pdf"
mkdir -p "$work/usb"
count() { echo "$out" | py "import json,sys; print(len(json.load(sys.stdin)$1))"; }
corrects() { sql "SELECT json_extract(details, '\$.corrects') FROM audit_event WHERE action = '$1' ORDER BY seq DESC LIMIT 1"; }

itaku staff add "$CLERK2" --os-user "$CLERK2" --role operator >/dev/null || exit 1
itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" >/dev/null || exit 1
itaku nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null || exit 1
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/agency-billing.toml"
approved profile import "$work/agency-billing.toml"
check "profile imported" 0 "$rc"
deliver() {  # deliver: a media delivery of the export as the operator; its id in $id
  AS=$CLERK run deliver --profile agency-billing --input "$work/export.csv" --via media \
    --out "$work/usb" --json
  id=$(json '["delivery_id"]')
}

# ---- A package written but never handed over is cancelled ------------------
deliver
check "first delivery" 0 "$rc"
id1=$id
AS=$CLERK run history --subscriber S00000001 --json
check "received before the cancellation" 1 "$(count '["receipts"]')"
AS=$CLERK run media destroyed "$id1"
check "destroyed points to cancel" \
  "itaku: delivery $id1: medium is written, not handed over (cancel it with: itaku media cancel)" "$err"
AS=$CLERK run media cancel "$id1"
check "cancel without --reason is a usage error" 2 "$rc"
AS=$AUDITOR run media cancel "$id1" --reason "x"
check "auditor may not cancel" "itaku: media.cancel is not open to an auditor (auditors read only)" "$err"
AS=$CLERK run media cancel "$id1" --reason "USB を取り違えた"
check "cancelled" "0 delivery $id1: agency-a-$id1.zip.p7m cancelled (never handed over): USB を取り違えた" "$rc $out"
AS=$CLERK run media cancel "$id1" --reason "again"
check "cancelled once" "1 itaku: delivery $id1: medium is already cancelled" "$rc $err"
run media list --outstanding
check "no longer outstanding" "no media outstanding" "$out"
run media list
check "listed as cancelled" "$id1	media	agency-a-$id1.zip.p7m	cancelled" "$(echo "$out" | cut -f1-4)"
run delivery show "$id1"
check "delivery says cancelled" "delivery $id1: cancelled" "$(echo "$out" | head -n 1)"
contains "delivery says why" "reason: cancelled by $CLERK: USB を取り違えた" "$out"
check "the audit event names what it corrects" "delivery:$id1" "$(corrects media.cancelled)"
check "the audit event keeps the reason" "USB を取り違えた" \
  "$(sql "SELECT json_extract(details, '\$.reason') FROM audit_event WHERE action = 'media.cancelled'")"
# A cancelled delivery is not received (History and breach scope count
# delivered, sending and writing deliveries only).
run history --subscriber S00000001 --json
check "history: the cancelled delivery is not received" 0 "$(count '["receipts"]')"
run breach-scope --contractor agency-a --since "$from" --json
check "breach scope: the cancelled delivery is not received" 0 "$(json '["subscriber_count"]')"

# ---- Handed over: not cancelled; returned, then destroyed ------------------
deliver
check "second delivery" 0 "$rc"
id2=$id
AS=$CLERK run media handover "$id2" --medium "USB serial 4C530001" --to "収納 太郎"
check "handed over" 0 "$rc"
AS=$CLERK run media cancel "$id2" --reason "too late"
check "no cancelling once handed over" \
  "1 itaku: delivery $id2: medium is handed-over; record its return instead" "$rc $err"
AS=$CLERK run media returned "$id2"
check "returned" "delivery $id2: medium returned" "$out"
AS=$CLERK run media cancel "$id2" --reason "too late"
check "no cancelling once returned" \
  "itaku: delivery $id2: medium is returned; only a package never handed over is cancelled" "$err"
AS=$CLERK run media destroyed "$id2"
check "a returned medium is destroyed later" "0 delivery $id2: medium destroyed" "$rc $out"
check "destruction audited" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'media.destroyed' AND subject = 'delivery:$id2'")"
run history --subscriber S00000001 --json
check "history: the handed-over delivery is received" "1 $id2" \
  "$(echo "$out" | py 'import json,sys; r=json.load(sys.stdin)["receipts"]; print(len(r), r[0]["delivery_id"])')"

# ---- An NDA entered in error is withdrawn ----------------------------------
AS=$CLERK run nda withdraw 1 --reason "日付の入力誤り"
check "operator may not withdraw an NDA" \
  "1 itaku: nda.withdraw is not open to an operator (privacy officers only)" "$rc $err"
run nda withdraw 1
check "withdraw without --reason is a usage error" 2 "$rc"
run nda withdraw 1 --reason "日付の入力誤り"
check "withdrawn, listing what relied on it" "0 NDA 1 of agency-a withdrawn: 日付の入力誤り
deliveries that relied on it: $id2" "$rc $out"
run nda withdraw 1 --reason "again"
check "withdrawn once" 1 "$rc"
contains "withdrawn once: why" "itaku: NDA 1 was already withdrawn on " "$err"
run nda list
check "listed as withdrawn" "#1	agency-a	$from to $until	not in force (withdrawn: 日付の入力誤り)" "$out"
run nda list --json
check "JSON says who withdrew it and why" "$OFFICER 日付の入力誤り False" \
  "$(echo "$out" | py 'import json,sys; d=json.load(sys.stdin)[0]; print(d["withdrawn_by"], d["withdrawn_reason"], d["in_force"])')"
check "the audit event names what it corrects" "nda:1" "$(corrects nda.withdraw)"
check "the audit event lists the deliveries" "[$id2]" \
  "$(sql "SELECT json_extract(details, '\$.deliveries') FROM audit_event WHERE action = 'nda.withdraw'")"
AS=$CLERK run deliver --profile agency-billing --input "$work/export.csv" --via media --dry-run
check "a withdrawn NDA covers nothing" 1 "$rc"
contains "a withdrawn NDA covers nothing: why" \
  "contractor agency-a has no NDA in force on $today (policy 4(3): 機密保持契約)" "$err"

# ---- Special requests: a warning for an unseen id; ended by its creator ----
AS=$CLERK run special add --subscriber S00000003 --contractor agency-a --withhold phone --json
check "a known subscriber: no warning" "0 0" "$rc $(count '["warnings"]')"
seen_id=$(json '["id"]')
AS=$CLERK run special add --subscriber S9OO12 --contractor agency-a --exclude
typo_id=$(sql "SELECT max(id) FROM special_request")
check "an unseen subscriber: accepted with a warning" "0 special request #$typo_id	S9OO12	contractor agency-a	exclude	$today to open
warning: subscriber S9OO12 appears in no delivery so far; check the id" "$rc $out"
AS=$CLERK run special add --subscriber S9OO13 --contractor agency-a --exclude --json
check "the warning in JSON" "subscriber S9OO13 appears in no delivery so far; check the id" \
  "$(json '["warnings"][0]')"
AS=$CLERK2 run special end "$typo_id" --reason "not mine"
check "another operator may not end it" \
  "1 itaku: special request $typo_id was entered by $CLERK; only they or a privacy officer end it ($CLERK2 is operator)" \
  "$rc $err"
AS=$AUDITOR run special end "$typo_id" --reason "x"
check "an auditor may not end it" "itaku: special.end is not open to an auditor (auditors read only)" "$err"
AS=$CLERK run special end "$typo_id"
check "end without --reason is a usage error" 2 "$rc"
AS=$CLERK run special end "$typo_id" --reason "加入者番号の入力誤り"
check "its creator ends it" 0 "$rc"
contains "its creator ends it: said" "ended special request #$typo_id	S9OO12	contractor agency-a	exclude	$today to open	ended " "$out"
check "ended by its creator" "by $CLERK" "$(echo "$out" | grep -o "by $CLERK\$")"
check "the audit event names what it corrects" "special:$typo_id" "$(corrects special.end)"
run special end "$seen_id" --reason "申し出の取下げ"
check "an officer ends another's" 0 "$rc"
run special list
check "one request left in force" 1 "$(echo "$out" | grep -c S9OO13)"

run audit verify
check "audit intact" 0 "$rc"
finish "corrections e2e"
