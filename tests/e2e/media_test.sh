#!/usr/bin/env bash
# Encrypted media packages (policy 6(2) 電子記録媒体の引渡し) through the real
# itaku binary, opened with the stock openssl and unzip CLIs: interop, the
# manifest, the wrong key, the leak test with canaries in withheld fields,
# refusals that write nothing, the password recipient, the handover record,
# and a delivery whose daemon is killed mid-way.
# Usage: media_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
# The real clock; NDAs and profiles run from a month ago to five years on.
from=$(day "-30 days") until=$(day "+5 years")
cert() {  # cert NAME DAYS_OFFSET_START DAYS [rsa bits]: key + self-signed cert
  local name=$1 days=$2 bits=${3:-2048}
  openssl req -x509 -newkey "rsa:$bits" -nodes -keyout "$work/$name.key" -out "$work/$name.crt" \
    -days "$days" -subj "/CN=$name/O=Itaku test" 2>/dev/null
}
decrypt() {  # decrypt PACKAGE CERT KEY DIR: exit status of openssl
  mkdir -p "$4"
  openssl cms -decrypt -binary -inform DER -in "$1" -recip "$2" -inkey "$3" -out "$4/p.zip" \
    2>/dev/null || return 1
  unzip -tq "$4/p.zip" >/dev/null && unzip -q -o "$4/p.zip" -d "$4/files"
}

# Withheld fields carry canaries; every row's drawing exists in the folder.
withheld=name_kana,postal_code,email,birth_date,gender,occupation,bank_code,branch_code,account_type
"$GEN" --rows 1000 --seed 11 --encoding cp932 --header labels --canary "$withheld" --drawings "$work/drawings" \
  --out "$work/all.csv" || exit 1
head -n 301 "$work/all.csv" > "$work/export.csv"   # header + 300 subscribers
# The same subscribers with canaries in what installation work does not get.
"$GEN" --rows 1000 --seed 11 --encoding cp932 --header labels --drawings "$work/drawings" \
  --canary email,birth_date,gender,occupation,bank_code,branch_code,account_type,account_number,account_holder,services \
  --out "$work/all-inst.csv" || exit 1
head -n 301 "$work/all-inst.csv" > "$work/inst.csv"
printf 'nda\n' > "$work/nda.pdf"
cert agency 365; cert builder 365; cert other 365
mkdir -p "$work/usb"

itaku contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt" > "$work/add.out"
fp=$(openssl x509 -in "$work/agency.crt" -noout -fingerprint -sha256 | cut -d= -f2)
contains "fingerprint shown" "certificate SHA256:$fp" "$(cat "$work/add.out")"
itaku contractor add builder-b --name "夢前工務店" --cert "$work/builder.crt" >/dev/null
for c in agency-a builder-b; do
  itaku nda add $c --signed "$from" --from "$from" --until "$until" \
    --document "$work/nda.pdf" --signatory "担当 者" >/dev/null
done
# The outsourcing contracts, dated as the NDAs; agency-a's runs on past its
# NDA, so that the NDA's end (checked last of all) stays the one reason.
sign_contract agency-a "$from" "$from" "$(day "$until + 1 year")" billing >/dev/null
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null
for p in agency-billing builder-installation; do
  sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
    "$SRC/ops/examples/$p.toml" > "$work/$p.toml"
  approved profile import "$work/$p.toml"   # a new profile: a second officer approves it
  check "import $p" 0 "$rc"
done

# Billing package: opens with stock tools, manifest hashes match, no canary.
run deliver --profile agency-billing --input "$work/export.csv" --attachments "$work/drawings" \
  --via media --out "$work/usb" --json
check "billing exit" 0 "$rc"
pkg=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["package"])')
id=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["delivery_id"])')
check "package name" "$work/usb/agency-a-$id.zip.p7m" "$pkg"
check "package hash recorded" "$(sha256sum "$pkg" | cut -d' ' -f1)" \
  "$(sqlite3 "$ITAKU_DB" "SELECT package_sha256 FROM delivery WHERE id=$id")"
decrypt "$pkg" "$work/agency.crt" "$work/agency.key" "$work/b"; check "opens with openssl+unzip" 0 $?
check "entries" "data.csv manifest.json" "$(cd "$work/b/files" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')"
delete_by=$(day "$(sql "SELECT ordered_at FROM delivery WHERE id=$id") + 60 days")
check "manifest hashes" "ok" "$(cd "$work/b/files" && DELETE_BY=$delete_by py '
import os; DELETE_BY=os.environ["DELETE_BY"]
import json,hashlib
m=json.load(open("manifest.json"))
bad=[f["name"] for f in m["files"] if hashlib.sha256(open(f["name"],"rb").read()).hexdigest()!=f["sha256"] or len(open(f["name"],"rb").read())!=f["size"]]
print("ok" if not bad and m["records"]==300 and m["delete_by"]==DELETE_BY and m["nda"]["id"]==1 else bad or m)')"
check "csv is cp932 with profile columns" \
  "subscriber_id,name,address,phone,account_number,account_holder,services" \
  "$(head -1 "$work/b/files/data.csv" | tr -d '\r')"
check "300 records" 301 "$(iconv -f CP932 -t UTF-8 "$work/b/files/data.csv" | py 'import csv,sys; print(len(list(csv.reader(sys.stdin))))')"
check "no canary in billing package" 0 "$(grep -rac 'CANARY-' "$work/b/files" | awk -F: '{s+=$2} END {print s+0}')"
check "no drawing in billing package" 0 "$(grep -rac 'ITAKU-DRAWING' "$work/b/files" | awk -F: '{s+=$2} END {print s+0}')"
decrypt "$pkg" "$work/other.crt" "$work/other.key" "$work/wrong"; check "wrong key fails" 1 $?
check "history" "1" "$(itaku history --subscriber S00000001 --json | py 'import json,sys; print(len(json.load(sys.stdin)["receipts"]))')"
check "breach scope" "300" "$(itaku breach-scope --contractor agency-a --since "$from" --json | py 'import json,sys; print(json.load(sys.stdin)["subscriber_count"])')"

# Installation package: drawings of exactly the delivered rows, nothing else.
run deliver --profile builder-installation --input "$work/inst.csv" \
  --attachments "$work/drawings" --via media --out "$work/usb" --json
check "installation exit" 0 "$rc"
ipkg=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["package"])')
decrypt "$ipkg" "$work/builder.crt" "$work/builder.key" "$work/i"; check "installation opens" 0 $?
expected=$(iconv -f CP932 -t UTF-8 "$work/inst.csv" | py '
import csv,sys
r=list(csv.reader(sys.stdin))[1:]
print(" ".join(sorted(x[16] for x in r if x[16])))')
check "drawings of delivered rows" "$expected" "$(ls "$work/i/files/drawings" | sort | tr '\n' ' ' | sed 's/ $//')"
outside=0
for f in "$work/drawings"/*; do
  n=$(basename "$f")
  [[ " $expected " == *" $n "* ]] && continue
  grep -rqaF "ITAKU-DRAWING-${n%.*}" "$work/i/files" && outside=$((outside + 1))
done
check "no drawing of other rows" 0 "$outside"
check "delivered drawings are the subscribers' own" "$(echo "$expected" | wc -w)" \
  "$(for n in $expected; do grep -aF "ITAKU-DRAWING-${n%.*}" "$work/i/files/drawings/$n"; done | wc -l)"
check "no canary in installation package" 0 "$(grep -rac 'CANARY-' "$work/i/files" | awk -F: '{s+=$2} END {print s+0}')"

# Refusals write nothing to --out and are audited, by the daemon under the
# name of the staff member who asked. (Those on later days come last: the
# daemon's clock never goes back behind its newest audit event.)
mkdir -p "$work/empty"
audits() { sqlite3 "$ITAKU_DB" "SELECT count(*) FROM audit_event WHERE action='delivery.refused' AND actor='$OFFICER'"; }
before=$(audits)
itaku contractor suspend agency-a >/dev/null
run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/empty"
contains "suspended" "contractor agency-a is suspended" "$err"
itaku contractor activate agency-a >/dev/null
sed 's/transports = \["media", "sftp"\]/transports = ["sftp"]/' "$work/agency-billing.toml" > "$work/sftp-only.toml"
run profile import "$work/sftp-only.toml"   # narrower: at once
check "narrower profile takes effect" 0 "$rc"
run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/empty"
contains "media not allowed" "does not allow transport media" "$err"
rc_media=$rc
approved profile import "$work/agency-billing.toml"   # media again: wider, approved
check "media allowed again" 0 "$rc"
check "refusals exit 1" 1 "$rc_media"
check "refusals audited" $((before + 2)) "$(audits)"
check "nothing written on refusal" "" "$(ls -A "$work/empty")"
cert weak 365 1024
approved contractor update agency-a --cert "$work/weak.crt"
check "weak cert refused" "itaku: contractor agency-a: $work/weak.crt: certificate RSA key is 1024 bits; at least 2048 required" "$err"
printf 'garbage' > "$work/garbage.crt"
approved contractor update agency-a --cert "$work/garbage.crt"
check "not a cert" "itaku: contractor agency-a: $work/garbage.crt: not a PEM certificate" "$err"

# Password recipient for a contractor without a certificate.
itaku contractor add agency-c --name "臨時収納" >/dev/null
itaku nda add agency-c --signed "$from" --from "$from" --until "$until" --document "$work/nda.pdf" --signatory x >/dev/null
sign_contract agency-c "$from" "$from" "$until" billing >/dev/null
sed 's/agency-a/agency-c/; s/agency-billing/agency-c-billing/' "$work/agency-billing.toml" > "$work/c.toml"
approved profile import "$work/c.toml"
check "import agency-c-billing" 0 "$rc"
run deliver --profile agency-c-billing --input "$work/export.csv" --via media --out "$work/empty"
contains "no cert refused" "contractor agency-c has no certificate for encrypted packages" "$err"
run deliver --profile agency-c-billing --input "$work/export.csv" --via media --out "$work/usb" --password-recipient --json
check "password delivery" 0 "$rc"
phrase=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["passphrase"])')
cpkg=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["package"])')
check "passphrase never stored" 0 "$(grep -c -- "$phrase" "$ITAKU_DB" "$ITAKU_DB-wal" 2>/dev/null | awk -F: '{s+=$2} END {print s+0}')"
openssl cms -decrypt -binary -inform DER -in "$cpkg" -pwri_password "$phrase" -out "$work/c.zip" 2>/dev/null
check "passphrase opens" 0 $?
openssl cms -decrypt -binary -inform DER -in "$cpkg" -pwri_password "wrong-passphrase-123" -out "$work/c2.zip" 2>/dev/null
check "wrong passphrase fails" 1 $(( $? != 0 ))

# The medium's life: handed over, then destroyed.
run media list --outstanding --json
check "outstanding" 3 "$(echo "$out" | py 'import json,sys; print(len(json.load(sys.stdin)))')"
run media handover "$id" --medium "USB serial 4C530001" --to "収納 太郎"
check "handover" 0 "$rc"
run media handover "$id" --medium "again" --to "x"
check "handover twice" "itaku: delivery $id: medium is already handed-over" "$err"
run media destroyed "$id"
check "destroyed" "delivery $id: medium destroyed" "$out"
run media list --outstanding --json
check "outstanding after" 2 "$(echo "$out" | py 'import json,sys; print(len(json.load(sys.stdin)))')"

# The daemon killed mid-delivery: the CLI (a staff member's, through the
# socket) says the daemon went away, the medium holds nothing half-written,
# and the restarted daemon shows no delivered delivery for it.
"$GEN" --rows 400000 --seed 3 --out "$work/big.csv" || exit 1
mkdir -p "$work/kill"
approved contractor update agency-a --cert "$work/agency.crt"
check "certificate restored" 0 "$rc"
delivered() { sql "SELECT count(*) FROM delivery WHERE outcome IN ('delivered', 'sending')"; }
before=$(delivered)
runuser -u "$OFFICER" -g root -- "$ITAKU" --socket "$SOCK" deliver --profile agency-billing \
  --input "$work/big.csv" --via media --out "$work/kill" >"$work/kill.out" 2>"$work/kill.err" &
cli=$!
# The package is being built in the daemon's spool when the daemon dies.
partials=0
for _ in $(seq 1 1000); do
  partials=$(find "$ITAKU_DB.d/spool" -name '*partial*' 2>/dev/null | wc -l)
  [ "$partials" -gt 0 ] && break
  sleep 0.02
done
kill -9 "$daemon_pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
daemon_pid=""
wait $cli; cli_rc=$?
check "killed: a package was being built" 1 "$(( partials > 0 ))"
check "killed: the CLI fails" 1 "$cli_rc"
contains "killed: the CLI says the daemon went away" "closed the connection before answering" "$(cat "$work/kill.err")"
check "killed: nothing on the medium" "" "$(ls -A "$work/kill")"
start_daemon || exit 1
check "restarted: no delivered delivery for it" "$before" "$(delivered)"
check "restarted: no partial package kept" 0 "$(find "$ITAKU_DB.d" -name '*partial*' | wc -l)"

# Later days: a short-lived certificate has expired, then the NDA has ended.
before=$(audits)
cert expired 1
approved contractor update agency-a --cert "$work/expired.crt"   # a certificate change: approved
check "short-lived cert accepted today" 0 "$rc"
CLOCK="+3 days" run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/empty"
contains "expired certificate" "certificate of contractor agency-a: certificate expired on" "$err"
check "later refusals exit 1" 1 "$rc"
CLOCK=$(noon "$(day "$until + 1 day")") run deliver --profile agency-billing --input "$work/export.csv" --via media --out "$work/empty"
contains "expired NDA" "has no NDA in force on $(day "$until + 1 day")" "$err"
check "later refusals audited" $((before + 2)) "$(audits)"
check "nothing written on later refusals" "" "$(ls -A "$work/empty")"
run audit verify
check "audit intact" 0 "$rc"

finish "media e2e"
