#!/usr/bin/env bash
# Supervising contractors after the handover (policy 6 指示・監督, 4(3);
# issue 16) through the real itaku binary: a delivery refused for lack of an
# outsourcing contract covering its purpose; re-outsourcing terms; disposal
# tasks appearing on the delete-by day (the daemon's clock moved forward),
# closed by a certificate uploaded through the portal with real curl (and by
# staff); overdue disposals and an overdue periodic check blocking
# deliveries when configured; the register (委託先管理台帳) read back as CSV
# and through pdftotext; the 授受記録 of one delivery. No withheld value of
# the export reaches any of these documents.
# Usage: supervision_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
for tool in pdftotext pdffonts pdfinfo curl openssl; do
  command -v $tool >/dev/null || { echo "$tool is missing (ops/setup installs it)" >&2; exit 1; }
done
from=$(day "-30 days") until=$(day "+5 years")
today=$(day now)
squeeze() { py 'import sys; print("".join(sys.stdin.read().split()))'; }
audits() { sql "SELECT count(*) FROM audit_event WHERE action = '$1'"; }
cert() {  # cert NAME: key + self-signed certificate (a year) valid for 127.0.0.1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$1.key" -out "$work/$1.pem" \
    -days 365 -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
for n in server agency builder; do cert "$n"; done
chown "$SVC" "$work/server.key" && chmod 600 "$work/server.key"

# serve CONFIG_LINES...: restarts the daemon with the operator's identity,
# the given [supervision]/[portal] lines and the portal on a free port; sets
# $base (the portal's disposal URL prefix).
log_from=1
serve() {
  { operator_identity; printf '%s\n' "$@"; } > "$work/daemon.toml"
  chmod 644 "$work/daemon.toml"
  stop_daemon
  log_from=$(( $(stat -c %s "$work/daemon.log" 2>/dev/null || echo 0) + 1 ))
  start_daemon --config "$work/daemon.toml" --portal-listen 127.0.0.1:0 \
    --portal-cert "$work/server.pem" --portal-key "$work/server.key" || exit 1
  local i port=""
  for i in $(seq 1 100); do
    port=$(tail -c +"$log_from" "$work/daemon.log" |
      sed -n 's|^portal listening on https://127.0.0.1:\([0-9]*\)/portal/v1/packages$|\1|p')
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "the portal did not start" >&2; cat "$work/daemon.log" >&2; exit 1; }
  base="https://127.0.0.1:$port/portal/v1/disposals"
}
# upload WHO DELIVERY QUERY FILE [CONTENT-TYPE]: POSTs a certificate as WHO;
# prints the HTTP status, the body goes to $work/body.
upload() {
  curl -s -o "$work/body" -w '%{http_code}' --cacert "$work/server.pem" \
    --cert "$work/$1.pem" --key "$work/$1.key" -H "Content-Type: ${5:-application/pdf}" \
    --data-binary @"$4" "$base/$2?$3"
}

withheld=email,birth_date,gender,occupation,bank_code,branch_code,account_type,account_number
"$GEN" --rows 40 --seed 16 --canary "$withheld" --drawings "$work/drawings" \
  --out "$work/export.csv" || exit 1
# Every canary the generator planted (distinctive values in withheld fields).
py "
import csv
rows = list(csv.DictReader(open('$work/export.csv', encoding='utf-8-sig')))
vals = set()
for r in rows:
    for k, v in r.items():
        if v and 'CANARY' in v.upper(): vals.add(v)
open('$work/canaries', 'w').write('\n'.join(sorted(vals)) + '\n')
"
check "canaries planted" 1 "$([ "$(wc -l < "$work/canaries")" -gt 10 ] && echo 1 || echo 0)"
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add agency-a --name "夢前収納" --cert "$work/agency.pem" \
  --portal-cert "$work/agency.pem" >/dev/null || exit 1
itaku contractor add builder-b --name "夢前工務店" --cert "$work/builder.pem" \
  --portal-cert "$work/builder.pem" >/dev/null || exit 1
# A name a spreadsheet would run as a formula: the register neutralises it.
itaku contractor add formula-c --name "=1+1 商会" >/dev/null || exit 1
for c in agency-a builder-b; do
  itaku nda add $c --signed "$from" --from "$from" --until "$until" \
    --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
done
for p in agency-billing builder-installation; do
  sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/;
       s/^retention_days = .*/retention_days = 30/" "$SRC/ops/examples/$p.toml" > "$work/$p.toml"
  approved profile import "$work/$p.toml"
  check "import $p" 0 "$rc"
done
serve
mkdir -p "$work/usb" "$work/out"
deliver_agency() {  # deliver_agency: billing to agency-a on media; $rc, $out, $err
  run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/usb" "$@"
}

# ---- 1. Contracts ---------------------------------------------------------
# agency-a's only contract covers installation, not billing: refused, naming
# the clause and the contract that is there.
sign_contract agency-a "$from" "$from" "$until" installation >/dev/null
check "first contract" "1" "$(sql "SELECT count(*) FROM contract WHERE contractor_id = 'agency-a'")"
refused_before=$(audits delivery.refused)
deliver_agency
check "no contract for billing: exit" 1 "$rc"
check "no contract for billing: reason" \
  "itaku: delivery $(sql "SELECT max(id) FROM delivery") refused: contractor agency-a has no outsourcing contract in force on $today covering purpose billing (contract #1 covers installation) (policy 6: 業務委託契約)" \
  "$err"
check "refusal audited" $((refused_before + 1)) "$(audits delivery.refused)"
check "no package left" "" "$(ls "$work/usb")"

printf 'contract for billing\n' > "$work/billing-contract.pdf"
contract_add() {  # contract_add ARGS...: contract add for agency-a with the usual document
  run contract add agency-a --document "$work/billing-contract.pdf" --signed "$from" "$@"
}
contract_add --from "$from" --until "$until" --purpose collections --incident-contact x \
  --reoutsourcing forbidden
check "unknown purpose" 1 "$rc"
contains "unknown purpose reason" "contract for agency-a: unknown purpose collections (known: installation, billing," "$err"
contract_add --from "$until" --until "$from" --purpose billing --incident-contact x \
  --reoutsourcing forbidden
check "dates out of order" "itaku: contract for agency-a: --until $from is before --from $until" "$err"
contract_add --from "$from" --until "$until" --purpose billing --incident-contact x \
  --reoutsourcing sometimes
check "re-outsourcing terms" "itaku: contract for agency-a: --reoutsourcing must be forbidden, approval or named" "$err"
refusals=$(audits contract.add.refused)
check "each refusal audited" 3 "$refusals"
AS=$AUDITOR contract_add --from "$from" --until "$until" --purpose billing --incident-contact x \
  --reoutsourcing named
check "an auditor cannot add a contract" 1 "$rc"
check "auditor's refusal audited" $((refusals + 1)) "$(audits contract.add.refused)"
AS=$CLERK contract_add --from "$from" --until "$until" --purpose billing --purpose mailing \
  --incident-contact "収納部 山田 079-111-2222" --reoutsourcing named --json
check "operator adds the billing contract" 0 "$rc"
check "contract id" 2 "$(json '["id"]')"
sha=$(sha256sum "$work/billing-contract.pdf" | cut -d' ' -f1)
check "contract document kept by its hash" "$sha" \
  "$(sha256sum "$ITAKU_DB.d/documents/$sha.pdf" | cut -d' ' -f1)"

# Re-outsourcing: named subcontractors only under "named", by an officer.
printf 'sub nda\n' > "$work/sub-nda.pdf"
AS=$CLERK run contract subcontractor 2 --name "夢前印刷" --work "督促状の印刷" \
  --nda "$work/sub-nda.pdf" --nda-from "$from" --nda-until "$until"
check "an operator cannot name a subcontractor" 1 "$rc"
run contract subcontractor 1 --name "夢前印刷" --work "督促状の印刷" --nda "$work/sub-nda.pdf" \
  --nda-from "$from" --nda-until "$until"
check "not under a contract that forbids it" \
  "itaku: contract 1 of agency-a allows re-outsourcing forbidden, not to named subcontractors (policy 6: 再委託)" "$err"
run contract subcontractor 2 --name "夢前印刷" --work "督促状の印刷" --nda "$work/sub-nda.pdf" \
  --nda-from "$from" --nda-until "$until"
check "subcontractor named" 0 "$rc"
run contract list --contractor agency-a --json
check "contracts listed" "2 True 1 夢前印刷" \
  "$(echo "$out" | py 'import json,sys; d=json.load(sys.stdin); c=[c for c in d if c["id"]==2][0]; print(len(d), c["in_force"], len(c["subcontractors"]), c["subcontractors"][0]["name"])')"

deliver_agency --json
check "billing delivered under contract #2" "0 2" "$rc $(json '["contract_id"]')"
d1=$(json '["delivery_id"]')
deliver_agency
check "second delivery" 0 "$rc"
contains "contract shown" "contract: #2" "$out"
d2=$(sql "SELECT max(id) FROM delivery")
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null
run deliver --profile builder-installation --input "$work/export.csv" \
  --attachments "$work/drawings" --via media --out "$work/usb"
check "builder's delivery" 0 "$rc"
d3=$(sql "SELECT max(id) FROM delivery")

# ---- 2. Disposal tasks on the delete-by day ---------------------------------
# retention_days = 30: due on today + 30, overdue from the day after.
CLOCK="+29 days" run disposal list --json
check "nothing due the day before" "[]" "$(echo "$out" | tr -d ' \n')"
CLOCK="$(noon "$(day "+30 days")")" run disposal list --json
check "three due on the delete-by day" "3 [False, False, False] ['$(day "+30 days")']" \
  "$(echo "$out" | py 'import json,sys; d=json.load(sys.stdin); print(len(d), [t["overdue"] for t in d], sorted({t["delete_by"] for t in d}))')"
contains "due in text" "$d1	agency-a	media	40 records	delete by $(day "+30 days")	due" \
  "$(CLOCK="$(noon "$(day "+30 days")")" itaku disposal list)"

# From here on the daemon lives 31 days ahead (the audit trail only moves
# forwards, so the clock does not come back).
set_clock "+31 days"
today=$(day "+31 days")
run disposal list --overdue --contractor agency-a
check "overdue listed" "$d1	agency-a	media	40 records	delete by $(day "+30 days")	OVERDUE
$d2	agency-a	media	40 records	delete by $(day "+30 days")	OVERDUE" "$out"

serve '[supervision]' 'block_on_overdue_disposal = true' '[portal]' 'max_upload_mb = 1'
deliver_agency
check "overdue disposals block: exit" 1 "$rc"
contains "overdue disposals block: reason" \
  "contractor agency-a has 2 deliveries past its delete-by day with no return or disposal recorded (delivery $d1, delete by $(day "+30 days")) ([supervision] block_on_overdue_disposal; policy 6: 指示・監督)" \
  "$err"

# ---- 3. The contractor's certificate through the portal (curl) ---------------
printf '%%PDF-1.4\n%% 廃棄証明書 delivery %s shredded\n' "$d1" > "$work/cert1.pdf"
cert_sha=$(sha256sum "$work/cert1.pdf" | cut -d' ' -f1)
check "another contractor's delivery is not found" 404 \
  "$(upload agency "$d3" "method=shredded&on=$today" "$work/cert1.pdf")"
check "not a PDF or image" 415 \
  "$(upload agency "$d1" "method=shredded&on=$today" "$work/cert1.pdf" text/plain)"
head -c 1100000 /dev/urandom > "$work/big.pdf"
check "over [portal] max_upload_mb" 413 \
  "$(upload agency "$d1" "method=shredded&on=$today" "$work/big.pdf")"
check "unknown method" 400 "$(upload agency "$d1" "method=burned&on=$today" "$work/cert1.pdf")"
check "no disposal recorded by refusals" 0 "$(sql "SELECT count(*) FROM disposal")"
check "certificate accepted" 201 "$(upload agency "$d1" "method=shredded&on=$today" "$work/cert1.pdf")"
check "its hash answered" "$cert_sha shredded $today" \
  "$(py "import json; j=json.load(open('$work/body')); print(j['certificate_sha256'], j['method'], j['disposed_on'])")"
check "kept by its hash" "$cert_sha" \
  "$(sha256sum "$ITAKU_DB.d/documents/$cert_sha.pdf" | cut -d' ' -f1)"
check "recorded as the contractor's, via the portal" "agency-a|delivery:$d1" \
  "$(sql "SELECT actor || '|' || subject FROM audit_event WHERE action = 'disposal.record'")"
check "a second upload conflicts" 409 \
  "$(upload agency "$d1" "method=shredded&on=$today" "$work/cert1.pdf")"
check "no upload left behind" "" "$(ls -A "$ITAKU_DB.d/portal-uploads" 2>/dev/null)"

# ---- 4. And by staff ----------------------------------------------------------
printf 'certificate of erasure\n' > "$work/cert2.pdf"
run disposal record "$d2" --method 消去 --on "$(day "+32 days")" --certificate "$work/cert2.pdf"
check "not a day in the future" "itaku: delivery $d2: --on $(day "+32 days") is after today ($today)" "$err"
run disposal record "$d2" --method 消去 --on "$today" --certificate "$work/cert2.pdf"
check "staff record the erasure" 0 "$rc"
contains "in Japanese and English" "delivery $d2 of agency-a: 消去 (erased) on $today recorded" "$out"
run disposal record "$d2" --method erased --on "$today" --certificate "$work/cert2.pdf"
check "once per delivery" 1 "$rc"
contains "conflict reason" "the disposal of delivery $d2 was already recorded" "$err"
refused_id=$(sql "SELECT min(id) FROM delivery WHERE outcome = 'refused'")
run disposal record "$refused_id" --method erased --on "$today" --certificate "$work/cert2.pdf"
check "nothing to dispose of a refused delivery" \
  "itaku: delivery $refused_id is refused: no data of it reached agency-a" "$err"
run disposal list --overdue
check "only the builder's is overdue now" "$d3" "$(echo "$out" | cut -f1)"
deliver_agency
check "deliveries resume once disposals are closed" 0 "$rc"

# ---- 5. Periodic checks --------------------------------------------------------
serve '[supervision]' 'block_on_overdue_check = true' 'check_grace_days = 10'
deliver_agency
check "never checked: blocked" 1 "$rc"
contains "never checked: reason" "contractor agency-a has never been checked ([supervision] block_on_overdue_check; policy 6: 指示・監督)" "$err"
printf 'checklist: 12 items, 1 finding\n' > "$work/checklist.pdf"
run check record agency-a --on "$today" --result findings --next-due "$(day "+36 days")"
check "findings need words" "itaku: check of agency-a: --findings is required when the result is findings" "$err"
run check record agency-a --on "$today" --result findings --findings "施錠管理の記録漏れ 1件" \
  --evidence "$work/checklist.pdf" --next-due "$(day "+36 days")"
check "check recorded" 0 "$rc"
deliver_agency
check "checked: delivered" 0 "$rc"
# 16 days later the check due on +36 days is 11 days overdue: past the grace.
set_clock "+47 days"
today=$(day "+47 days")
deliver_agency
check "overdue check blocks" 1 "$rc"
contains "overdue check reason" "contractor agency-a: its periodic check was due $(day "+36 days") and is overdue by more than 10 days ([supervision] block_on_overdue_check; policy 6: 指示・監督)" "$err"
run check record agency-a --on "$today" --result pass --next-due "$(day "+230 days")"
deliver_agency
check "a new check lifts the block" 0 "$rc"

# ---- 6. The register and the slip ------------------------------------------------
run register export --format csv --out "$work/out/register.csv"
check "register csv" 0 "$rc"
py "
import csv, sys
rows = list(csv.reader(open('$work/out/register.csv', encoding='utf-8-sig', newline='')))
head = rows[0]
by = {r[0]: dict(zip(head, r)) for r in rows[1:]}
a = by['夢前収納（agency-a）']; b = by['夢前工務店（builder-b）']; f = by[\"'=1+1 商会（formula-c）\"]
print(len(rows) - 1)
print(head[0], head[-1])
print(a['状態'], [l.split()[0] for l in a['業務委託契約'].splitlines()], '料金請求' in a['委託業務（利用目的）'], '口座番号' in a['提供項目'], '生年月日' in a['提供項目'])
print(a['再委託'].splitlines())
print(a['前回点検'], a['次回点検期限'], a['未了の返却・廃棄'])
print(b['未了の返却・廃棄'], f['業務委託契約'])
" > "$work/register.txt" 2>&1
check "register rows" "3
委託先 未了の返却・廃棄
取引中 ['#1', '#2'] True True False
['禁止', '指定の再委託先のみ：夢前印刷（督促状の印刷、機密保持契約 $(date -d "$until" +%Y年%-m月%-d日)まで）']
$(date -d "$today" +%Y年%-m月%-d日) 適合 $(date -d "$(day "+230 days")" +%Y年%-m月%-d日) 0件
1件（うち期限超過 1件） なし" "$(cat "$work/register.txt")"
check "register CSV is UTF-8 with a BOM" "efbbbf" "$(head -c 3 "$work/out/register.csv" | od -An -tx1 | tr -d ' \n')"
run register export --format pdf --out "$work/out/register.pdf"
check "register pdf" 0 "$rc"
# -raw: in the order drawn, so each cell's text stays together.
reg_text=$(pdftotext -raw "$work/out/register.pdf" - | squeeze)
for needle in 委託先管理台帳 夢前収納 agency-a 夢前工務店 指定の再委託先のみ 夢前印刷 "収納部山田079-111-2222"; do
  contains "register pdf shows $needle" "$needle" "$reg_text"
done
check "register fonts embedded" "" "$(pdffonts "$work/out/register.pdf" | tail -n +3 | awk '$(NF-4) != "yes"')"
run register export --format pdf --out "$work/out/register.pdf"
check "an existing file is not overwritten" 1 "$rc"

run delivery slip "$d1" --out "$work/out/slip-$d1.pdf"
check "slip" 0 "$rc"
slip_text=$(pdftotext -raw "$work/out/slip-$d1.pdf" - | squeeze)
for needle in 個人データ授受記録 "授受番号$d1" 夢前収納 "#2" 電子記録媒体の引渡し 40件 提供済み 裁断 "$cert_sha" 委託先がポータルで提出 口座名義; do
  contains "slip shows $needle" "$needle" "$slip_text"
done
run delivery slip "$refused_id" --out "$work/out/slip-refused.pdf"
check "no slip for a refused delivery" 1 "$rc"
check "no file for it" "no" "$([ -e "$work/out/slip-refused.pdf" ] && echo yes || echo no)"

# Nothing outside the profile: no withheld value in any document made here.
leaks=0
while IFS= read -r v; do
  [ -n "$v" ] || continue
  for f in "$work/out/register.csv" "$work/out/register.pdf" "$work/out/slip-$d1.pdf"; do
    grep -aqF -- "$v" "$f" && { leaks=$((leaks + 1)); echo "withheld value in $f" >&2; }
  done
  [[ "$reg_text$slip_text" == *"$v"* ]] && leaks=$((leaks + 1))
done < "$work/canaries"
check "no withheld value in the register or the slip" 0 "$leaks"

run audit verify
check "audit verify" 0 "$rc"
for a in contract.add contract.subcontractor disposal.record check.record register.export delivery.slip; do
  check "audited: $a" 1 "$([ "$(audits $a)" -ge 1 ] && echo 1 || echo 0)"
done
finish supervision_test
