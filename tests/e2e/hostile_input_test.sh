#!/usr/bin/env bash
# Hostile exports (issue 14, findings 1, 2, 4 and 6) through the real itaku
# binary, the package opened with the stock openssl and unzip CLIs:
# spreadsheet formulas reach the contractor neutralised while E.164 phone
# numbers and negative amounts arrive as they are; last4 never shows a short
# account number; an export without a header row is refused without a word
# of its content on stderr, in the delivery record, in the audit trail or
# anywhere in the store; NUL bytes are refused by line and column and never
# printed; UTF-16 is named; and every error names the operator's file, not
# the package entry (never "entry data.csv: ...").
# Usage: hostile_input_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 365 -subj "/CN=agency/O=Itaku test" 2>/dev/null || exit 1
decrypt() {  # decrypt PACKAGE DIR: exit status of openssl and unzip
  mkdir -p "$2"
  openssl cms -decrypt -binary -inform DER -in "$1" -recip "$work/agency.crt" \
    -inkey "$work/agency.key" -out "$2/p.zip" 2>/dev/null || return 1
  unzip -tq "$2/p.zip" >/dev/null && unzip -q -o "$2/p.zip" -d "$2/files"
}
package_of() { echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["package"])'; }
# cells FILE ENCODING: data.csv as JSON {subscriber_id: {column: value}}.
cells() {
  python3 - "$1" "$2" <<'EOF'
import csv, json, sys
with open(sys.argv[1], encoding=sys.argv[2], newline="") as f:
    rows = list(csv.DictReader(f))
print(json.dumps({r["subscriber_id"]: r for r in rows}, ensure_ascii=False))
EOF
}
cell() { printf '%s\n' "$data" | py "import json,sys; print(json.load(sys.stdin)['$1']['$2'], end='')"; }
# nuls FILE: how many NUL bytes FILE holds.
nuls() { py "print(open('$1', 'rb').read().count(b'\\0'))"; }
errors=()  # every stderr text, for the check that none names a package entry
mkdir -p "$work/usb" "$work/fail"

printf 'nda\n' > "$work/nda.pdf"
itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" >/dev/null || exit 1
itaku nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
sign_contract agency-a "$from" "$from" "$until" billing >/dev/null || exit 1
# CP932 out, as Japanese Excel reads it; the phone unmasked, the account
# number under last4.
profile() {  # profile ID [EXTRA OUTPUT LINE]
  cat > "$work/$1.toml" <<EOF
id = "$1"
contractor = "agency-a"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"]
transports = ["media"]
valid_from = $from
valid_until = $until
retention_days = 60
[output]
format = "csv"
encoding = "cp932"
${2:-}
[masks]
account_number = "last4"
EOF
  approved profile import "$work/$1.toml"
  check "import $1" 0 "$rc"
}
profile agency-hostile

# ---- Finding 1: formulas are neutralised, numbers and phone numbers are not.
python3 - "$work/formulas.csv" <<'EOF'
import csv, sys
rows = [
    ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"],
    ["S00000001", '=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "+81312345678", "7654321",
     "ﾔﾏﾀﾞ ﾀﾛｳ", "@SUM(1+1)"],
    ["S00000002", "\t=1+1", "\r=1+1", "+81 3-1234-5678", "9913", "－1", "-1200"],
    ["S00000003", "山田　太郎", "＝1+1", "079-123-4567", "98765432", "ﾀｶﾊｼ", "CATV"],
]
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
EOF
run deliver --profile agency-hostile --input "$work/formulas.csv" --via media --out "$work/usb" --json
check "formulas: delivered" 0 "$rc"
decrypt "$(package_of)" "$work/f"; check "formulas: package opens" 0 $?
data=$(cells "$work/f/files/data.csv" cp932)
check "=HYPERLINK neutralised" "'=HYPERLINK(\"http://x\",\"y\")" "$(cell S00000001 name)"
check "+cmd DDE neutralised" "'+cmd|' /C calc'!A0" "$(cell S00000001 address)"
check "@SUM neutralised" "'@SUM(1+1)" "$(cell S00000001 services)"
check "tab = neutralised" "'$(printf '\t')=1+1" "$(cell S00000002 name)"
check "CR = neutralised" "'$(printf '\r')=1+1" "$(cell S00000002 address)"
check "full-width ＝ neutralised" "'＝1+1" "$(cell S00000003 address)"
check "full-width － neutralised" "'－1" "$(cell S00000002 account_holder)"
check "E.164 phone intact" "+81312345678" "$(cell S00000001 phone)"
check "grouped E.164 phone intact" "+81 3-1234-5678" "$(cell S00000002 phone)"
check "negative amount intact" "-1200" "$(cell S00000002 services)"
check "plain values intact" "山田　太郎 079-123-4567 CATV" \
  "$(cell S00000003 name) $(cell S00000003 phone) $(cell S00000003 services)"
# Whatever a spreadsheet would run: nothing, in any cell.
check "no cell starts a formula" 0 "$(printf '%s\n' "$data" | py '
import json, re, sys
safe = re.compile(r"[+-][0-9]*\.?[0-9]+|\+[0-9]+([ -][0-9]+)*")
print(sum(1 for row in json.load(sys.stdin).values() for v in row.values()
          if v[:1] in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠") and not safe.fullmatch(v)))')"
# Recorded in the manifest (the manifest keys are the package builder's).
check "manifest: guard on, 7 cells" "True 7" \
  "$(py "import json; m=json.load(open('$work/f/files/manifest.json')); print(m['formula_guard'], m['formula_guarded_cells'])")"

# ---- Finding 2: last4 never shows a short value whole.
check "last4: 7-digit account all stars" "*******" "$(cell S00000001 account_number)"
check "last4: 4-digit account all stars" "****" "$(cell S00000002 account_number)"
check "last4: 8 digits show the last four" "****5432" "$(cell S00000003 account_number)"
check "short account numbers not in the package" 0 \
  "$(grep -ac -e 7654321 -e 9913 "$work/f/files/data.csv")"

# ---- Finding 4: an export without a header row; its cells appear nowhere.
printf '%s\r\n' \
  "S00000001,山田　太郎,兵庫県姫路市,+81312345678,8675309,ﾔﾏﾀﾞ ﾀﾛｳ,zq0001.mailcanary@example.invalid" \
  "S00000002,髙橋　花子,大阪府北区,+81612345678,8675310,ﾀｶﾊｼ ﾊﾅｺ,zq0002.mailcanary@example.invalid" \
  > "$work/noheader.csv"
noheader="noheader.csv:1: the first row does not look like a header (no column is a catalog field id or label); the export needs a header row"
run deliver --profile agency-hostile --input "$work/noheader.csv" --via media --dry-run
errors+=("$err")
check "header-less dry run refused" 1 "$rc"
check "header-less dry run reason" "itaku: $noheader" "$err"
run deliver --profile agency-hostile --input "$work/noheader.csv" --via media --out "$work/fail" --json
errors+=("$err")
check "header-less delivery refused" 1 "$rc"
check "header-less delivery reason" "itaku: $noheader" "$err"
run delivery list --json
check "header-less: both failures recorded with the reason" 2 \
  "$(echo "$out" | NOHEADER="$noheader" py 'import json,os,sys; print(sum(1 for d in json.load(sys.stdin) if d["outcome"] == "failed" and d["reason"] == os.environ["NOHEADER"]))')"
listings="$out$(itaku audit events --json)$(itaku audit events --action delivery.failed)"
contains "header-less: the failure is audited" "$noheader" "$listings"
leaks=0
# (Only the header-less file holds these; the first export was delivered.)
for secret in mailcanary 8675309 +81612345678 髙橋 兵庫県; do
  [[ "${errors[*]}$listings" == *"$secret"* ]] && { leaks=$((leaks + 1)); echo "leaked: $secret"; }
  n=$(grep -ac -- "$secret" "$ITAKU_DB" "$ITAKU_DB-wal" "$work/daemon.log" 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}')
  [ "$n" -eq 0 ] || { leaks=$((leaks + 1)); echo "in the store or the daemon's log: $secret"; }
done
check "header-less: no cell on stderr, in records, audit, store or log" 0 "$leaks"
run audit verify
check "audit trail intact" 0 "$rc"

# ---- Finding 6: NUL bytes, UTF-16, and errors that name the operator's file.
python3 - "$work" <<'EOF'
import sys
work = sys.argv[1]
header = "subscriber_id,name,address,phone,account_number,account_holder,services\r\n"
row = "S00000001,a,b,+81312345678,12345678,ｶﾅ,CATV\r\n"
with open(f"{work}/nul.csv", "wb") as f:
    f.write((header + row).encode() + "S00000002,山\0田,c,1,2,3,4\r\n".encode())
with open(f"{work}/nulheader.csv", "wb") as f:
    f.write(b"subscriber_id,na\0me,address,phone,account_number,account_holder,services\r\n"
            + row.encode())
with open(f"{work}/escheader.csv", "wb") as f:
    f.write(b"subscriber_id,\x1b[2Jname,address,phone,account_number,account_holder,services\r\n"
            + row.encode())
text = "加入者番号,氏名,住所,電話番号,口座番号,口座名義,サービス内容\r\n" + row
with open(f"{work}/utf16le.csv", "wb") as f:
    f.write(("\ufeff" + text).encode("utf-16-le"))  # what Excel saves as "Unicode text"
with open(f"{work}/utf16be.csv", "wb") as f:
    f.write(("\ufeff" + text).encode("utf-16-be"))
with open(f"{work}/utf16nobom.csv", "wb") as f:
    f.write(text.encode("utf-16-le"))
EOF
run deliver --profile agency-hostile --input "$work/nul.csv" --via media --out "$work/fail"
errors+=("$err")
check "NUL in a cell refused" 1 "$rc"
check "NUL in a cell: line and column" "itaku: nul.csv:3: column 2 (name): NUL byte" "$err"
check "NUL in a cell: not printed" 0 "$(nuls "$work/err")"
run deliver --profile agency-hostile --input "$work/nulheader.csv" --via media --dry-run
errors+=("$err")
check "NUL in the header: line and column" "itaku: nulheader.csv:1: column 2: NUL byte" "$err"
check "NUL in the header: not printed" 0 "$(nuls "$work/err")"
run deliver --profile agency-hostile --input "$work/escheader.csv" --via media --dry-run
errors+=("$err")
check "escape code in the header: named by column" \
  "itaku: escheader.csv:1: column 2 is not a catalog field id or label (policy 1)" "$err"
check "escape code in the header: not printed" 0 "$(grep -c $'\x1b' "$work/err")"
utf16="the file is UTF-16; save the export as UTF-8 or Shift_JIS (CP932)"
run deliver --profile agency-hostile --input "$work/utf16le.csv" --via media --out "$work/fail"
errors+=("$err")
check "UTF-16 LE refused" 1 "$rc"
check "UTF-16 LE named" "itaku: utf16le.csv: $utf16" "$err"
run deliver --profile agency-hostile --input "$work/utf16be.csv" --via media --dry-run
errors+=("$err")
check "UTF-16 BE named" "itaku: utf16be.csv: $utf16" "$err"
run deliver --profile agency-hostile --input "$work/utf16nobom.csv" --via media --dry-run
errors+=("$err")
check "UTF-16 without a byte order mark named" "itaku: utf16nobom.csv: $utf16" "$err"
check "nothing written by a refused delivery" "" "$(ls -A "$work/fail")"
entry=0
for e in "${errors[@]}"; do [[ "$e" == *"entry data.csv"* ]] && entry=$((entry + 1)); done
check "no error names the package entry" 0 "$entry"
check "every error names the operator's file" 8 \
  "$(printf '%s\n' "${errors[@]}" | grep -cE '^itaku: (noheader|nul|nulheader|escheader|utf16le|utf16be|utf16nobom)\.csv:')"

# ---- The guard off, for a batch that reads raw CSV ([output] formula_guard
# = false, a widening: a second officer approves it).
profile agency-raw "formula_guard = false"
run deliver --profile agency-raw --input "$work/formulas.csv" --via media --out "$work/usb" --json
check "guard off: delivered" 0 "$rc"
decrypt "$(package_of)" "$work/r"; check "guard off: package opens" 0 $?
data=$(cells "$work/r/files/data.csv" cp932)
check "guard off: formulas raw" "=HYPERLINK(\"http://x\",\"y\") @SUM(1+1) ＝1+1" \
  "$(cell S00000001 name) $(cell S00000001 services) $(cell S00000003 address)"
check "guard off: recorded in the manifest" "False 0" \
  "$(py "import json; m=json.load(open('$work/r/files/manifest.json')); print(m['formula_guard'], m['formula_guarded_cells'])")"
check "guard off: last4 still applies" "*******" "$(cell S00000001 account_number)"

finish "hostile input e2e"
