#!/usr/bin/env bash
# A leak at a contractor (policy 7; APPI art. 26; issue 16) through the real
# itaku binary: `incident open` fixes the scope from the record — over a
# contractor with three overlapping deliveries (and a dry run, a refusal and
# another contractor's delivery that must not count) it gives the exact
# number of persons and, per data item, how many persons it reached,
# computed here independently from the exports; the report deadlines (速報
# 5 days, 確報 30 or 60); drafts of the reports to the Commission as JSON
# and PDF (pdftotext) with the items its form asks for; the publication
# decision or the recorded ground for not publishing. No draft carries a
# person's data. (Notices to the persons: incident_notices_test.sh.)
# Usage: incident_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
for tool in pdftotext pdffonts; do
  command -v $tool >/dev/null || { echo "$tool is missing (ops/setup installs poppler-utils)" >&2; exit 1; }
done
from=$(day "-30 days") until=$(day "+5 years")
today=$(day now)
squeeze() { py 'import sys; print("".join(sys.stdin.read().split()))'; }
audits() { sql "SELECT count(*) FROM audit_event WHERE action = '$1'"; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.pem" \
  -days 365 -subj "/CN=agency" 2>/dev/null
cp "$work/agency.pem" "$work/builder.pem"

withheld=email,birth_date,gender,occupation,bank_code,branch_code,account_type
"$GEN" --rows 200 --seed 21 --canary "$withheld" --out "$work/all.csv" || exit 1
# Three overlapping monthly exports: rows 1-100, 51-150, 101-200 (200 persons).
py "
import csv
rows = list(csv.reader(open('$work/all.csv', encoding='utf-8-sig', newline='')))
head, body = rows[0], rows[1:]
for name, part in (('d1', body[0:100]), ('d2', body[50:150]), ('d3', body[100:200])):
    with open('$work/' + name + '.csv', 'w', encoding='utf-8', newline='') as f:
        w = csv.writer(f, lineterminator='\r\n'); w.writerow(head); w.writerows(part)
"
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add agency-a --name "夢前収納" --cert "$work/agency.pem" >/dev/null || exit 1
itaku contractor add builder-b --name "夢前工務店" --cert "$work/builder.pem" >/dev/null || exit 1
for c in agency-a builder-b; do
  itaku nda add $c --signed "$from" --from "$from" --until "$until" \
    --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
done
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null || exit 1
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null || exit 1
for p in agency-billing builder-installation; do
  sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/;
       s/^transports = .*/transports = [\"media\"]/" "$SRC/ops/examples/$p.toml" > "$work/$p.toml"
  approved profile import "$work/$p.toml"
  check "import $p" 0 "$rc"
done
# builder-installation sends house_drawing: its export needs no drawings
# for this test, so that field is dropped from the profile.
mkdir -p "$work/usb"
ids=()
for d in d1 d2 d3; do
  run deliver --profile agency-billing --input "$work/$d.csv" --via media --out "$work/usb" --json
  check "delivery $d" 0 "$rc"
  ids+=("$(json '["delivery_id"]')")
done
# None of these count: a dry run, a refused delivery (no contract for the
# purpose), another contractor's delivery.
run deliver --profile agency-billing --input "$work/all.csv" --via media --dry-run
check "dry run" 0 "$rc"
run deliver --profile builder-installation --input "$work/all.csv" --via media --out "$work/usb" \
  --attachments "$work/usb"
check "builder's delivery made or refused (not in scope either way)" 1 "$([ "$rc" -le 1 ] && echo 1 || echo 0)"

# What the scope must be, from the exports: every person, and per field of
# the profile the persons for whom a non-empty value was sent.
py "
import csv, json, re
prof = open('$work/agency-billing.toml', encoding='utf-8').read()
fields = json.loads(re.search(r'(?m)^fields = (\[.*\])', prof).group(1))
per = {}
for d in ('d1', 'd2', 'd3'):
    for r in csv.DictReader(open('$work/' + d + '.csv', encoding='utf-8-sig', newline='')):
        got = per.setdefault(r['subscriber_id'], set())
        for f in fields:
            if r.get(f, ''): got.add(f)
by_item = {}
for got in per.values():
    for f in got: by_item[f] = by_item.get(f, 0) + 1
print(json.dumps({'persons': len(per), 'persons_by_item': by_item}, sort_keys=True))
" > "$work/expected.json"

discovered=$(day "-2 days")
run incident open --contractor agency-a --since "$from" --until "$today" --discovered "$discovered" \
  --summary "委託先の作業用端末の紛失（調査中）" --json
check "incident open" 0 "$rc"
incident=$(json '["id"]')
check "persons and per-item counts as the exports say" "$(cat "$work/expected.json")" \
  "$(echo "$out" | py 'import json,sys; j=json.load(sys.stdin); print(json.dumps({"persons": j["persons"], "persons_by_item": j["persons_by_item"]}, sort_keys=True))')"
check "the three deliveries" "${ids[*]}" "$(echo "$out" | py 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["deliveries"])))')"
check "deadlines: 速報 5 days, 確報 30 days after discovery" "$(day "$discovered + 5 days") $(day "$discovered + 30 days")" \
  "$(echo "$out" | py 'import json,sys; d=json.load(sys.stdin)["deadlines"]; print(d["preliminary"], d["final"])')"
check "a pending notice per person" 200 "$(sql "SELECT count(*) FROM incident_notice WHERE incident_id = $incident AND state = 'pending'")"
check "incident.open audited, without the summary" "1 0" \
  "$(audits incident.open) $(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%端末の紛失%'")"
run incident open --contractor agency-a --since "$today" --until "$from" --discovered "$today" --summary x
check "period out of order" "itaku: incident at agency-a: --until $from is before --since $today" "$err"
run incident open --contractor agency-a --since "$from" --until "$today" --discovered "$(day "+1 day")" --summary x
check "not discovered tomorrow" "itaku: incident at agency-a: --discovered $(day "+1 day") is after today" "$err"
AS=$AUDITOR run incident open --contractor agency-a --since "$from" --until "$today" --discovered "$today" --summary x
check "an auditor cannot open one" 1 "$rc"
# A malicious leak: the final report is due in 60 days.
run incident open --contractor agency-a --since "$today" --until "$today" --discovered "$today" \
  --summary "不正アクセス" --malicious --json
check "malicious: 60 days" "$(day "+60 days")" "$(json '["deadlines"]["final"]')"

run incident list
contains "listed with its deadlines" "$incident	agency-a	discovered $discovered	200 persons	速報 due $(day "$discovered + 5 days"), 確報 due $(day "$discovered + 30 days")	notified 0/200" "$out"
# Six days after discovery the 速報 is overdue until it is recorded as sent.
CLOCK="+4 days" run incident list --json
check "速報 overdue" "True" "$(echo "$out" | py "import json,sys; print([i for i in json.load(sys.stdin) if i['id'] == $incident][0]['preliminary_overdue'])")"

# ---- Drafts ------------------------------------------------------------------
mkdir -p "$work/out"
run incident draft "$incident" --report preliminary --format json --out "$work/out/prelim.json"
check "preliminary draft (json)" 0 "$rc"
check "the form's items" "reporter summary items persons cause secondary_harm response publication measures other|200|$(day "$discovered + 5 days")" \
  "$(py "
import json
j = json.load(open('$work/out/prelim.json', encoding='utf-8'))
print(' '.join(i['key'] for i in j['items']) + '|' + str(j['persons']) + '|' + j['due'])")"
run incident update "$incident" --cause "作業員が端末を電車内に置き忘れた" --measures "端末の暗号化と持出し記録の徹底" \
  --harm "現時点で二次被害の報告なし"
check "update" 0 "$rc"
AS=$CLERK run incident publication "$incident" --withhold --reason "5(1)[3]" --note "捜査機関の要請"
check "an operator cannot decide publication" 1 "$rc"
run incident publication "$incident" --withhold --reason "5(1)[8]" --note x
check "grounds are 5(1)[1]-[7]" "itaku: incident $incident: --reason must be one of 5(1)[1] to 5(1)[7] (policy 7(2))" "$err"
run incident publication "$incident" --withhold --reason "5(1)[5]" --note "捜査機関から公表を控えるよう要請"
check "withheld under 5(1)[5]" 0 "$rc"
run incident draft "$incident" --report publication --format pdf --out "$work/out/pub.pdf"
check "no publication draft when withheld" 1 "$rc"
run incident draft "$incident" --report final --format pdf --out "$work/out/final.pdf"
check "final draft (pdf)" 0 "$rc"
final_text=$(pdftotext -raw "$work/out/final.pdf" - | squeeze)
for needle in "個人データの漏えい等事案に係る報告（確報）（案）" 夢前ケーブルテレビ株式会社 夢前収納 \
  委託先の作業用端末の紛失 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数 200人 \
  作業員が端末を電車内に置き忘れた 端末の暗号化と持出し記録の徹底 公表しない "5(1)[5]" 口座番号 \
  "$(echo "$discovered" | sed 's/^\([0-9]*\)-0*\([0-9]*\)-0*\([0-9]*\)$/\1年\2月\3日/')"; do
  contains "final draft shows $needle" "$needle" "$final_text"
done
check "draft fonts embedded" "" "$(pdffonts "$work/out/final.pdf" | tail -n +3 | awk '$(NF-4) != "yes"')"
run incident draft "$incident" --report preliminary --format pdf --out "$work/out/prelim.pdf"
contains "速報 draft" "個人データの漏えい等事案に係る報告（速報）（案）" "$(pdftotext -raw "$work/out/prelim.pdf" - | squeeze)"

# No person's data in any draft: no canary, no name, address or phone.
leaks=0
py "
import csv
for r in csv.DictReader(open('$work/all.csv', encoding='utf-8-sig', newline='')):
    for f in ('name', 'address', 'phone', 'account_number', 'email', 'birth_date'):
        if r.get(f): print(r[f])
" > "$work/personal"
drafts_text=$(for f in "$work"/out/*; do case $f in *.pdf) pdftotext -raw "$f" - ;; *) cat "$f" ;; esac; done)
while IFS= read -r v; do
  [ ${#v} -ge 4 ] || continue
  [[ "$drafts_text" == *"$v"* ]] && { leaks=$((leaks + 1)); echo "personal data in a draft" >&2; }
done < "$work/personal"
check "no personal data in the drafts" 0 "$leaks"

run incident reported "$incident" --report preliminary
check "速報 recorded as sent" 0 "$rc"
CLOCK="+4 days" run incident list --json
check "no longer overdue" "False" "$(echo "$out" | py "import json,sys; print([i for i in json.load(sys.stdin) if i['id'] == $incident][0]['preliminary_overdue'])")"
run incident reported "$incident" --report preliminary
check "once" 1 "$rc"
run audit verify
check "audit verify" 0 "$rc"
finish incident_test
