#!/usr/bin/env bash
# Supervising contractors through the staff console (policy 6 指示・監督, 7),
# end to end over HTTPS with the real daemon, the real `curl` (one cookie
# jar per person) and `oathtool` as the authenticator app: an outsourcing
# contract registered through the 委託先管理 form (with its scan) lets a
# delivery through; the daemon's clock moves to the delete-by day and the
# delivery shows on 返却・廃棄 and the dashboard; its 授受記録 downloads as a
# PDF; the certificate uploaded through the form closes the task (its hash
# in the store); a periodic check is recorded with its evidence; the
# register (委託先管理台帳) downloads as CSV and PDF; an auditor's forms are
# refused (403, on record). When the binary has the incident commands: an
# incident opened through the form, its deadlines on the list and the
# dashboard, its drafts as PDF.
# Usage: console_supervision_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
for tool in curl oathtool openssl pdftotext sha256sum; do
  command -v $tool >/dev/null || { echo "$tool is missing (ops/setup installs it)" >&2; exit 1; }
done
started=$(real_now)

source "$3/tests/e2e/console_lib.sh"
# signin_as JAR NAME: signed in (checked); then $csrf[JAR] is the session's token.
declare -A csrf=()
signin_as() {
  signin "$1" "$2"
  check "$1 signs in" "303 /" "$code $loc"
  get "$1" /
  csrf[$1]=$(csrf_of)
}
declare -A who=([officer]=$OFFICER [clerk]=$CLERK [auditor]=$AUDITOR)
signin_all() { local j; for j in officer clerk auditor; do signin_as "$j" "${who[$j]}"; done; }
section() { echo "-- $1 ($(( $(real_now) - started )) s)"; }
audits() { sql "SELECT count(*) FROM audit_event WHERE action = '$1' ${2:+AND actor = '$2'}"; }

# ---- Fixtures through the CLI -------------------------------------------------
section "Fixtures"
from=$(day "-30 days") until=$(day "+5 years") today=$(day now)
AS=$CLERK itaku contractor add agency-a --name "夢前収納サービス" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/a.key" -out "$work/a.crt" -days 60 \
  -subj "/CN=agency-a" 2>/dev/null
approved contractor update agency-a --cert "$work/a.crt"
check "certificate registered" 0 "$rc${err:+ $err}"
printf '%%PDF-1.4 signed nda\n' > "$work/nda.pdf"
itaku nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "収納 太郎" >/dev/null
# Kept 30 days: the delete-by day is 30 days after the delivery's.
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/;
     s/^retention_days = .*/retention_days = 30/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/billing.toml"
approved profile import "$work/billing.toml"
check "profile imported" 0 "$rc${err:+ $err}"
"$GEN" --rows 6 --seed 5 --out "$work/export.csv" || exit 1
mkdir -p "$work/usb"
deliver() { run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/usb" --json; }
for u in $OFFICER $CLERK $AUDITOR; do enrol "$u"; done
signin_all

# ---- Pages for every role -----------------------------------------------------
section "Pages for every role"
for j in officer clerk auditor; do
  for p in /supervision /disposals /; do
    get "$j" "$p"
    check "$j: GET $p" 200 "$code"
  done
  for p in /supervision /disposals; do
    contains "$j: the menu links $p" "<a href=\"$p\">" "$body"
  done
done
get clerk /supervision
contains "supervision: the contractor without a contract" "登録されていません(この委託先へは提供できません)" "$(section_of c-agency-a)"
contains "supervision: the contract form for an operator" 'action="/supervision/contracts"' "$body"
contains "supervision: a purpose checkbox" 'type="checkbox" id="f-supervision-contracts-purposes-2" name="purposes" value="billing"' "$body"
contains "supervision: the check form for an operator" 'action="/supervision/checks"' "$body"
get auditor /supervision
lacks "supervision: no contract form for an auditor" 'action="/supervision/contracts"' "$body"
lacks "supervision: no check form for an auditor" 'action="/supervision/checks"' "$body"
get officer /
contains "dashboard: the overdue-disposal section" 'id="disposals-overdue"' "$body"
contains "dashboard: no contract, so no check pressing yet" "ありません。" "$(section_of checks-overdue)"

# ---- 1. A contract through the form; the delivery allowed --------------------
section "A contract through the form"
deliver
check "no contract yet: the delivery is refused" 1 "$rc"
contains "no contract yet: the reason" "has no outsourcing contract in force" "$err"
printf '%%PDF-1.4 業務委託契約書 agency-a\n' > "$work/contract.pdf"
contract_sha=$(sha256sum "$work/contract.pdf" | cut -d' ' -f1)
contract_form() {  # contract_form JAR [CURL-ARGS...]: the form, complete unless told
  local jar=$1
  shift
  post "$jar" /supervision/contracts -F "csrf=${csrf[$jar]}" -F contractor=agency-a \
    -F "signed=$from" -F "from=$from" -F "until=$until" -F purposes=billing -F purposes=mailing \
    --form-string "incident_contact=収納部 山田 079-111-2222" -F reoutsourcing=forbidden "$@"
}
contract_form auditor -F "document=@$work/contract.pdf;type=application/pdf"
check "an auditor's contract form is refused" 403 "$code"
contains "the refusal in Japanese" "この操作は、あなたの役割では行えません" "$body"
check "  and on record" 1 "$(audits contract.add.refused "$AUDITOR")"
contract_form clerk
check "no document: back to the form" "303" "$code"
contains "no document: to the contract form" "/supervision?form=contract&error=" "$loc"
get clerk "$loc"
check "no document: the reason over the form" "署名済み契約書のファイルを選んでください。" "$(form_error)"
post clerk /supervision/contracts -F "csrf=${csrf[clerk]}" -F contractor=agency-a \
  -F "signed=$from" -F "from=$until" -F "until=$from" -F purposes=billing \
  --form-string "incident_contact=x" -F reoutsourcing=forbidden \
  -F "document=@$work/contract.pdf;type=application/pdf"
get clerk "$loc"
contains "dates out of order: the command's one line" "登録できませんでした: contract for agency-a: --until $from is before --from $until" "$(form_error)"
check "nothing registered by the refusals" 0 "$(sql "SELECT count(*) FROM contract")"
contract_form clerk -F "document=@$work/contract.pdf;type=application/pdf"
check "the operator registers the contract" 303 "$code"
contains "  back to 委託先管理 with a notice" "/supervision?notice=" "$loc"
check "  in the store, by the operator" "1 $CLERK $contract_sha" \
  "$(sql "SELECT count(*), json_extract(details, '$.registered_by'), json_extract(details, '$.document_sha256') FROM contract" | tr '|' ' ')"
check "  its scan kept by its hash" "$contract_sha" \
  "$(sha256sum "$ITAKU_DB.d/documents/$contract_sha.pdf" | cut -d' ' -f1)"
check "  its purposes" '["billing","mailing"]' "$(sql "SELECT json_extract(details, '$.purposes') FROM contract")"
get clerk "$loc"
contains "the notice" "業務委託契約 #1 を登録しました。" "$body"
contracts=$(section_of c-agency-a)
for needle in "#1" "$from ~ $until" "料金請求・収納・督促、郵便・電話・電子メール・訪問等による案内・調査" \
  "禁止" "収納部 山田 079-111-2222" "有効"; do
  contains "the contract shows $needle" "$needle" "$contracts"
done
deliver
check "the delivery is allowed now" "0" "$rc${err:+ $err}"
check "  under contract #1" 1 "$(json '["contract_id"]')"
d1=$(json '["delivery_id"]')
get officer /
contains "dashboard: the contracted contractor was never checked" "点検の記録がありません" "$(section_of checks-overdue)"

# ---- 2. The delete-by day: a disposal task --------------------------------------
section "The delete-by day"
get clerk /disposals
contains "nothing due on the day of the delivery" "返却・廃棄の期限が来た提供はありません。" "$(main_of)"
# The daemon's clock moves forward only (the audit trail's order), and the
# sessions do not survive a month: everyone signs in again.
due_day=$(day "+30 days")
set_clock "$(noon "$due_day")"
signin_all
get clerk /disposals
list=$(section_of disposals)
contains "the task is due on the delete-by day" "#$d1" "$list"
contains "  marked as due" "期限到来" "$list"
lacks "  not yet overdue" "期限超過" "$list"
set_clock "$(noon "$(day "+31 days")")"
today=$(day "+31 days")
signin_all
get clerk /disposals
list=$(section_of disposals)
contains "the day after: overdue" "期限超過" "$list"
contains "  with its delete-by day" "$due_day" "$list"
contains "  and a form to record it" "action=\"/disposals/$d1/record\"" "$body"
contains "  the methods" '<option value="dissolved">溶解</option>' "$body"
get officer /
overdue=$(section_of disposals-overdue)
contains "dashboard: the overdue disposal" "/disposals#d-$d1" "$overdue"
contains "dashboard: its count in the heading" "返却・廃棄の期限を過ぎた提供(1 件)" "$overdue"
get auditor /disposals
contains "an auditor sees the task" "#$d1" "$(section_of disposals)"
lacks "  but no form" "/disposals/$d1/record" "$body"

# The 授受記録 of the delivery.
get auditor "/disposals/$d1/slip.pdf"
check "the slip downloads" "200 application/pdf" "$code $(header Content-Type)"
contains "  as an attachment" "attachment; filename=\"itaku-slip-$d1.pdf\"" "$(header Content-Disposition)"
cp "$work/body" "$work/slip.pdf"
contains "  a PDF of the 授受記録" "個人データ授受記録" "$(pdftotext -raw "$work/slip.pdf" - 2>/dev/null | tr -d ' \n')"
check "  on record" 1 "$(audits delivery.slip "$AUDITOR")"

# ---- 3. The certificate through the form ------------------------------------------
section "The certificate through the form"
printf '%%PDF-1.4\n%% 廃棄証明書 delivery %s\n' "$d1" > "$work/certificate.pdf"
cert_sha=$(sha256sum "$work/certificate.pdf" | cut -d' ' -f1)
post auditor "/disposals/$d1/record" -F "csrf=${csrf[auditor]}" -F method=shredded -F "on=$today" \
  -F "certificate=@$work/certificate.pdf;type=application/pdf"
check "an auditor's disposal form is refused" 403 "$code"
check "  and on record" 1 "$(audits disposal.record.refused "$AUDITOR")"
post clerk "/disposals/$d1/record" -F "csrf=${csrf[clerk]}" -F method=shredded -F "on=$today"
check "no certificate: back to the form" 303 "$code"
get clerk "$loc"
check "  the reason over its form" "廃棄証明書(または返却の受領書)のファイルを選んでください。" "$(form_error)"
post clerk "/disposals/$d1/record" -F "csrf=${csrf[clerk]}" -F method=shredded \
  -F "on=$(day "+32 days")" -F "certificate=@$work/certificate.pdf;type=application/pdf"
get clerk "$loc"
contains "a day in the future: the command's one line" "is after today ($today)" "$(form_error)"
post clerk "/disposals/$d1/record" -F "csrf=x" -F method=shredded -F "on=$today" \
  -F "certificate=@$work/certificate.pdf;type=application/pdf"
check "without the session's csrf: refused" 403 "$code"
check "nothing recorded by the refusals" 0 "$(sql "SELECT count(*) FROM disposal")"
post clerk "/disposals/$d1/record" -F "csrf=${csrf[clerk]}" -F method=shredded -F "on=$today" \
  -F "certificate=@$work/certificate.pdf;filename=証明書.pdf;type=application/pdf"
check "the operator records the shredding" 303 "$code"
get clerk "$loc"
contains "  the notice names the hash" "#$d1 の裁断を記録しました(証明書 SHA-256 ${cert_sha:0:16}…)。" "$body"
lacks "  gone from the list" "#$d1" "$(section_of disposals)"
check "  its certificate's hash in the store" "$cert_sha shredded $today staff $CLERK" \
  "$(sql "SELECT json_extract(details, '$.certificate_sha256'), json_extract(details, '$.method'), json_extract(details, '$.disposed_on'), json_extract(details, '$.via'), json_extract(details, '$.recorded_by') FROM disposal WHERE delivery_id = $d1" | tr '|' ' ')"
check "  the certificate kept by its hash" "$cert_sha" \
  "$(sha256sum "$ITAKU_DB.d/documents/$cert_sha.pdf" | cut -d' ' -f1)"
post clerk "/disposals/$d1/record" -F "csrf=${csrf[clerk]}" -F method=erased -F "on=$today" \
  -F "certificate=@$work/certificate.pdf;type=application/pdf"
check "recorded twice: a conflict" 409 "$code"
contains "  with the command's one line" "the disposal of delivery $d1 was already recorded" "$body"
get officer /
contains "dashboard: no overdue disposal left" "ありません。" "$(section_of disposals-overdue)"

# ---- 4. A periodic check --------------------------------------------------------------
section "A periodic check"
printf '%%PDF-1.4 checklist: 12 items, 1 finding\n' > "$work/checklist.pdf"
evidence_sha=$(sha256sum "$work/checklist.pdf" | cut -d' ' -f1)
next_due=$(day "+180 days")
check_form() {  # check_form JAR [CURL-ARGS...]
  local jar=$1
  shift
  post "$jar" /supervision/checks -F "csrf=${csrf[$jar]}" -F contractor=agency-a -F "on=$today" \
    -F "next_due=$next_due" "$@"
}
check_form auditor -F result=pass -F "evidence=@$work/checklist.pdf;type=application/pdf"
check "an auditor's check form (with a file) is refused" 403 "$code"
post auditor /supervision/checks --data "csrf=${csrf[auditor]}&contractor=agency-a&on=$today&result=pass&next_due=$next_due"
check "an auditor's check form (no file) is refused" 403 "$code"
check "  both on record" 2 "$(audits check.record.refused "$AUDITOR")"
check_form clerk -F result=findings
get clerk "$loc"
contains "findings without words: the command's one line" "--findings is required when the result is findings" "$(form_error)"
check_form clerk -F result=findings --form-string "findings=施錠管理の記録漏れ 1件" \
  -F "evidence=@$work/checklist.pdf;type=application/pdf"
check "the operator records the check" 303 "$code"
check "  in the store with its evidence" "1 findings $evidence_sha $next_due" \
  "$(sql "SELECT count(*), json_extract(details, '$.result'), json_extract(details, '$.evidence_sha256'), json_extract(details, '$.next_due') FROM supervision_check" | tr '|' ' ')"
get clerk /supervision
contains "the summary: last check" "$today 指摘事項あり" "$(section_of summary)"
contains "the summary: next due" "$next_due" "$(section_of summary)"
contains "the checks: findings" "施錠管理の記録漏れ 1件" "$(section_of checks)"
get officer /
contains "dashboard: no check overdue now" "ありません。" "$(section_of checks-overdue)"

# ---- 5. The register ------------------------------------------------------------------
section "The register"
get auditor /supervision/register.csv
check "the register as CSV" "200 text/csv; charset=utf-8" "$code $(header Content-Type)"
contains "  as an attachment" "attachment; filename=\"itaku-register-$today.csv\"" "$(header Content-Disposition)"
cp "$work/body" "$work/register.csv"
check "  UTF-8 with a BOM" "efbbbf" "$(head -c 3 "$work/register.csv" | od -An -tx1 | tr -d ' \n')"
py "
import csv
rows = list(csv.reader(open('$work/register.csv', encoding='utf-8-sig', newline='')))
by = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
a = by['夢前収納サービス（agency-a）']
print(len(rows) - 1)
print(a['状態'], a['業務委託契約'].split()[0], '料金請求' in a['委託業務（利用目的）'], a['再委託'])
print(a['事故時連絡先'])
print(a['前回点検'].split()[-1], a['未了の返却・廃棄'])
" > "$work/register.txt" 2>&1
check "  agency-a's row" "1
取引中 #1 True 禁止
収納部 山田 079-111-2222
指摘事項あり 0件" "$(cat "$work/register.txt")"
get auditor /supervision/register.pdf
check "the register as PDF" "200 application/pdf" "$code $(header Content-Type)"
cp "$work/body" "$work/register.pdf"
contains "  the 委託先管理台帳" "委託先管理台帳" "$(pdftotext -raw "$work/register.pdf" - 2>/dev/null | tr -d ' \n')"
check "  both exports on record" 2 "$(audits register.export "$AUDITOR")"
check "  no copy left in the console's folder" "" \
  "$(find "$ITAKU_DB.d/console" -type f 2>/dev/null)"

# ---- 5b. Re-outsourcing and withdrawal: the privacy officer's steps ----------------------
section "Subcontractors and withdrawal"
post clerk /supervision/contracts -F "csrf=${csrf[clerk]}" -F contractor=agency-a \
  -F "signed=$from" -F "from=$from" -F "until=$until" -F purposes=billing \
  --form-string "incident_contact=収納部 山田 079-111-2222" -F reoutsourcing=named \
  -F "document=@$work/contract.pdf;type=application/pdf"
check "the operator registers a second contract, subcontractors named" 303 "$code"
named_id=$(sql "SELECT max(id) FROM contract")
check "  allowing named subcontractors only" named \
  "$(sql "SELECT json_extract(details, '$.reoutsourcing') FROM contract WHERE id = $named_id")"
get clerk /supervision
lacks "no subcontractor form for an operator" 'action="/supervision/subcontractors"' "$body"
lacks "no withdrawal form for an operator" 'action="/supervision/contracts/withdraw"' "$body"
get officer /supervision
contains "the officer's subcontractor form" 'action="/supervision/subcontractors"' "$body"
contains "  offering the named contract" "<option value=\"$named_id\">#$named_id agency-a" "$body"
contains "the officer's withdrawal form" 'action="/supervision/contracts/withdraw"' "$body"
printf '%%PDF-1.4 機密保持契約書 夢前データ入力\n' > "$work/sub-nda.pdf"
sub_sha=$(sha256sum "$work/sub-nda.pdf" | cut -d' ' -f1)
sub_form() {  # sub_form JAR [CURL-ARGS...]
  local jar=$1
  shift
  post "$jar" /supervision/subcontractors -F "csrf=${csrf[$jar]}" -F "contract=$named_id" \
    --form-string "name=夢前データ入力株式会社" --form-string "work=督促状の封入・発送" \
    -F "nda_from=$from" -F "nda_until=$until" "$@"
}
sub_form clerk -F "nda=@$work/sub-nda.pdf;type=application/pdf"
check "an operator's subcontractor form is refused" 403 "$code"
check "  and on record" 1 "$(audits contract.subcontractor.refused "$CLERK")"
sub_form officer
check "no NDA: back to the form" 303 "$code"
get officer "$loc"
check "  the reason over the form" "再委託先との機密保持契約のファイルを選んでください。" "$(form_error)"
sub_form officer -F "nda=@$work/sub-nda.pdf;type=application/pdf"
check "the officer names the subcontractor" 303 "$code"
check "  in the store under the contract, by the officer, its NDA by hash" \
  "$named_id 夢前データ入力株式会社 $OFFICER $sub_sha" \
  "$(sql "SELECT contract_id, json_extract(details, '$.name'), json_extract(details, '$.registered_by'), json_extract(details, '$.nda_sha256') FROM subcontractor" | tr '|' ' ')"
get officer "$loc"
contains "  the notice" "業務委託契約 #$named_id の再委託先を登録しました。" "$body"
contains "  the contract shows it" "夢前データ入力株式会社(督促状の封入・発送)" "$(section_of c-agency-a)"
post clerk /supervision/contracts/withdraw --data "csrf=${csrf[clerk]}&contract=$named_id" \
  --data-urlencode "reason=登録誤り"
check "an operator's withdrawal is refused" 403 "$code"
check "  the contract stands" "" \
  "$(sql "SELECT json_extract(details, '$.withdrawn_at') FROM contract WHERE id = $named_id")"
post officer /supervision/contracts/withdraw --data "csrf=${csrf[officer]}&contract=$named_id"
check "a withdrawal without a reason goes back to the form" 303 "$code"
contains "  to the withdrawal form" "/supervision?form=withdraw&error=" "$loc"
post officer /supervision/contracts/withdraw --data "csrf=${csrf[officer]}&contract=$named_id" \
  --data-urlencode "reason=同じ契約の二重登録"
check "the officer withdraws the contract" 303 "$code"
check "  withdrawn in the store, by the officer" "1 $OFFICER" \
  "$(sql "SELECT json_extract(details, '$.withdrawn_at') != '', json_extract(details, '$.withdrawn_by') FROM contract WHERE id = $named_id" | tr '|' ' ')"
get officer "$loc"
contains "  the notice" "業務委託契約 #$named_id を取り消しました。" "$body"
lacks "  no longer among agency-a's contracts" "#$named_id" "$(section_of c-agency-a)"
contains "  contract #1 still is" "#1" "$(section_of c-agency-a)"
check "  on record: one subcontractor, one withdrawal, by the officer" "1 1" \
  "$(audits contract.subcontractor "$OFFICER") $(audits contract.withdraw "$OFFICER")"

# ---- 6. Incidents (when the binary has them) ------------------------------------------
if itaku --help 2>/dev/null | grep -qE '^ +incident +'; then
  section "Incidents"
  delivered_on=$(sql "SELECT ordered_at FROM delivery WHERE id = $d1")
  delivered_on=$(day "$delivered_on")
  for j in officer clerk auditor; do
    get "$j" /incidents
    check "$j: GET /incidents" 200 "$code"
    contains "$j: the menu links /incidents" '<a href="/incidents">' "$body"
  done
  lacks "an auditor sees no form to open one" 'action="/incidents"' "$body"
  get clerk /incidents
  contains "an operator sees the form" 'action="/incidents"' "$body"
  contains "  with the malicious checkbox" 'name="malicious" value="yes"' "$body"
  open_form() {  # open_form JAR [CURL-ARGS...]
    local jar=$1
    shift
    post "$jar" /incidents --data "csrf=${csrf[$jar]}" --data contractor=agency-a \
      --data "since=$delivered_on" --data "until=$today" --data "discovered=$today" \
      --data-urlencode "summary=委託先の担当者が顧客一覧を誤送信した" "$@"
  }
  open_form auditor
  check "an auditor's incident form is refused" 403 "$code"
  check "  and on record" 1 "$(audits incident.open.refused "$AUDITOR")"
  post clerk /incidents --data "csrf=${csrf[clerk]}" --data contractor=agency-a \
    --data "since=$today" --data "until=$delivered_on" --data "discovered=$today" --data summary=x
  get clerk "$loc"
  contains "dates out of order: the command's one line" "--until $delivered_on is before --since $today" "$(form_error)"
  check "nothing opened by the refusals" 0 "$(sql "SELECT count(*) FROM incident")"
  open_form clerk
  check "the operator opens the incident" "303" "$code"
  incident=$(sql "SELECT max(id) FROM incident")
  contains "  to its page" "/incidents/$incident?notice=" "$loc"
  check "  its scope fixed: the persons of the delivery, not malicious" "6 0" \
    "$(sql "SELECT json_extract(details, '$.persons'), json_extract(details, '$.malicious') FROM incident WHERE id = $incident" | tr '|' ' ')"
  prelim=$(day "$today +5 days") final=$(day "$today +30 days")
  get clerk "/incidents/$incident"
  check "the incident's page" 200 "$code"
  scope=$(section_of scope)
  contains "  the scope: persons" "範囲: 本人 6 人" "$scope"
  contains "  the scope: items in Japanese" "<td class=\"\">氏名</td><td class=\"\">name</td><td class=\"\">6 人</td>" "$scope"
  contains "  the deadlines: 速報" "$prelim(あと 5 日)" "$(section_of deadlines)"
  contains "  the deadlines: 確報" "$final(あと 30 日)" "$(section_of deadlines)"
  contains "  the update form" "action=\"/incidents/$incident/update\"" "$body"
  contains "  the report-sent form" "action=\"/incidents/$incident/reported\"" "$body"
  lacks "  no publication form for an operator (officers decide)" "action=\"/incidents/$incident/publication\"" "$body"
  get clerk /incidents
  row=$(section_of incidents)
  contains "the list: the incident" "/incidents/$incident" "$row"
  contains "the list: 速報's deadline" "$prelim(あと 5 日)" "$row"
  contains "the list: 確報's deadline" "$final(あと 30 日)" "$row"
  get officer /
  lacks "dashboard: 5 days left is not pressing yet" "/incidents/$incident" "$(section_of incident-deadlines)"

  # The drafts.
  get auditor "/incidents/$incident/drafts/preliminary.pdf"
  check "the 速報 draft downloads (an auditor reads)" "200 application/pdf" "$code $(header Content-Type)"
  cp "$work/body" "$work/preliminary.pdf"
  prelim_text=$(pdftotext -raw "$work/preliminary.pdf" - 2>/dev/null | tr -d ' \n')
  contains "  pdftotext shows 速報" "速報" "$prelim_text"
  contains "  and the persons" "6人" "$prelim_text"
  get clerk "/incidents/$incident/drafts/final.json"
  check "the 確報 draft as JSON" "200 application/json" "$code $(header Content-Type)"
  check "  its title and persons" "個人データの漏えい等事案に係る報告（確報） 6" \
    "$(py "import json; j = json.load(open('$work/body')); print(j['title'], j['persons'])")"

  # The final report's fields; the 速報 sent; publication (officers).
  post clerk "/incidents/$incident/update" --data "csrf=${csrf[clerk]}" \
    --data-urlencode "cause=宛先の確認漏れ" --data-urlencode "measures=送信前の二重確認"
  check "the operator updates the final report's fields" 303 "$code"
  check "  stored" "宛先の確認漏れ 送信前の二重確認" \
    "$(sql "SELECT json_extract(details, '$.cause'), json_extract(details, '$.measures') FROM incident WHERE id = $incident" | tr '|' ' ')"
  post clerk "/incidents/$incident/publication" --data "csrf=${csrf[clerk]}" --data choice=publish \
    --data-urlencode "text=お詫び"
  check "an operator's publication form is refused" 403 "$code"
  post officer "/incidents/$incident/publication" --data "csrf=${csrf[officer]}" --data choice=withhold \
    --data-urlencode "reason=5(1)[5]" --data-urlencode "note=警察の捜査中のため"
  check "the officer withholds publication" 303 "$code"
  check "  stored" "withhold 5(1)[5]" \
    "$(sql "SELECT json_extract(details, '$.publication'), json_extract(details, '$.publication_reason') FROM incident WHERE id = $incident" | tr '|' ' ')"

  # 3 days on: the 速報 is due within 3 days, then overdue; once sent, gone.
  set_clock "$(noon "$(day "$today +3 days")")"
  signin_all
  get officer /
  pressing=$(section_of incident-deadlines)
  contains "dashboard: 速報 due in 2 days" "$prelim(あと 2 日)" "$pressing"
  contains "  linked to the incident" "/incidents/$incident" "$pressing"
  contains "  its count in the heading" "漏えい等事案(1 件)" "$pressing"
  set_clock "$(noon "$(day "$today +6 days")")"
  signin_all
  get officer /
  contains "dashboard: 速報 overdue" "$prelim 期限超過" "$(section_of incident-deadlines)"
  get clerk /incidents
  contains "the list marks it overdue" "$prelim 期限超過" "$(section_of incidents)"
  post clerk "/incidents/$incident/reported" --data "csrf=${csrf[clerk]}" --data report=preliminary
  check "the operator records the 速報 as sent" 303 "$code"
  get clerk /incidents
  contains "the list: 速報 reported" "報告済み(" "$(section_of incidents)"
  get officer /
  lacks "dashboard: the sent 速報 is gone" "/incidents/$incident" "$(section_of incident-deadlines)"
  post clerk "/incidents/$incident/reported" --data "csrf=${csrf[clerk]}" --data report=preliminary
  check "sent twice: a conflict" 409 "$code"
  contains "  with the command's one line" "already recorded as sent" "$body"
else
  echo "-- incidents: skipped (this itaku has no incident commands)"
fi

run audit verify
check "audit verify" 0 "$rc${err:+ $err}"
check "the daemon is alive" yes "$(kill -0 "$daemon_pid" 2>/dev/null && echo yes || echo no)"
echo "run time: $(( $(real_now) - started )) s"
finish console_supervision
