#!/usr/bin/env bash
# The pseudonym key (issue 14, finding 7) through the real itaku binary: it
# lives beside the store, never in it; a statistics delivery carries the
# HMAC-SHA256 of each subscriber id under it, the same before and after a
# daemon restart and different after `itaku keys rotate-pseudonym`; a key
# file open to others stops deliveries with a clear line; and a store made
# before the move gives its key up on first use, keeping every pseudonym.
# Usage: pseudonym_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")
KEYDIR="$ITAKU_DB.d/pseudonym-keys"
KEY="$KEYDIR/pseudonym.key"
# fingerprint KEY: the first 8 hex digits of its SHA-256, as Itaku names it.
fingerprint() { printf %s "$1" | sha256sum | cut -c1-8; }
# hmac KEY ID...: the pseudonyms the key gives, computed here, not by Itaku.
hmac() {
  python3 -c 'import hashlib, hmac, sys
print(" ".join(hmac.new(sys.argv[1].encode(), i.encode(), hashlib.sha256).hexdigest() for i in sys.argv[2:]))' "$@"
}
# in_store_files TEXT: how often TEXT occurs in the store's bytes, once the
# WAL is folded into the file.
in_store_files() {
  sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  cat "$ITAKU_DB" "$ITAKU_DB-wal" 2>/dev/null | grep -a -o -F "$1" | wc -l
}
decrypt() {  # decrypt PACKAGE DIR: the package opened with the contractor's key
  mkdir -p "$2"
  openssl cms -decrypt -binary -inform DER -in "$1" -recip "$work/survey.crt" \
    -inkey "$work/survey.key" -out "$2/p.zip" 2>/dev/null || return 1
  unzip -q -o "$2/p.zip" -d "$2/files"
}
# pseudonyms NAME: delivers the export on a medium and prints the
# subscriber_id column of the package's data.csv (space-separated).
pseudonyms() {
  run deliver --profile survey-stats --input "$work/export.csv" --via media --out "$work/usb" --json
  [ "$rc" -eq 0 ] || { echo "deliver failed: $err"; return 1; }
  local pkg
  pkg=$(echo "$out" | py 'import json,sys; print(json.load(sys.stdin)["package"])')
  decrypt "$pkg" "$work/$1" || { echo "cannot open $pkg"; return 1; }
  python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
print(" ".join(r[0] for r in rows[1:]))' "$work/$1/files/data.csv"
}

# ---- After init: beside the store, not in it ------------------------------
check "key file: 0600, the service account's, 64 hex digits and a newline" "-rw------- $SVC 65" \
  "$(stat -c '%A %U %s' "$KEY")"
check "key folder: 0700" "drwx------ $SVC" "$(stat -c '%A %U' "$KEYDIR")"
key=$(head -c 64 "$KEY")
check "the key is 64 hex digits" 1 "$([[ $key =~ ^[0-9a-f]{64}$ ]] && echo 1)"
check "no pseudonym_key row in meta" 0 "$(sql "SELECT count(*) FROM meta WHERE key='pseudonym_key'")"
check "meta holds no key: select * from meta" 0 "$(sql "SELECT * FROM meta" | grep -c -F "$key")"
check "meta keeps the fingerprint" "$(fingerprint "$key")" \
  "$(sql "SELECT value FROM meta WHERE key='pseudonym_key_fingerprint'")"
check "store.init names the fingerprint, not the key" "$(fingerprint "$key")" \
  "$(sql "SELECT json_extract(details, '\$.pseudonym_key') FROM audit_event WHERE action='store.init'")"
check "not a byte of the key in the store's files" 0 "$(in_store_files "$key")"
reinit=$(runuser -u "$SVC" -- "$ITAKU" --db "$ITAKU_DB" init --officer "$OFFICER" 2>&1)
contains "init again keeps the store" "store already initialised: $ITAKU_DB" "$reinit"
check "init again keeps the key" "$key" "$(head -c 64 "$KEY")"

# ---- A statistics contractor gets pseudonyms ------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/survey.key" -out "$work/survey.crt" \
  -days 365 -subj "/CN=survey-s/O=Itaku test" 2>/dev/null
printf 'nda\n' > "$work/nda.pdf"
approved contractor add survey-s --name "統計調査会社" --cert "$work/survey.crt"
check "contractor added" 0 "$rc"
run nda add survey-s --signed "$from" --from "$from" --until "$until" --document "$work/nda.pdf" \
  --signatory "担当 者"
check "nda added" 0 "$rc"
sign_contract survey-s "$from" "$from" "$until" statistics >/dev/null
check "contract added" 0 "$?"
cat > "$work/survey.toml" <<EOF
id = "survey-stats"
contractor = "survey-s"
purpose = "statistics"
fields = ["subscriber_id", "gender"]
transports = ["media"]
valid_from = $from
valid_until = $until
retention_days = 30
[output]
format = "csv"
encoding = "utf-8"
[masks]
subscriber_id = "pseudonym"
EOF
approved profile import "$work/survey.toml"
check "statistics profile imported" 0 "$rc${err:+ $err}"
printf 'subscriber_id,gender\nS90001,F\nS90002,M\n' > "$work/export.csv"
mkdir -p "$work/usb"

first=$(pseudonyms first)
check "pseudonyms are HMAC-SHA256 under the key file's key" "$(hmac "$key" S90001 S90002)" "$first"
stop_daemon
start_daemon || exit 1
check "the same pseudonyms after a restart" "$first" "$(pseudonyms restarted)"

# ---- Rotation ---------------------------------------------------------------
run keys rotate-pseudonym --help
contains "help states the effect" "so a contractor cannot link records across the rotation. Earlier deliveries are unchanged." "$out"
AS=$CLERK run keys rotate-pseudonym --reason "try"
check "an operator may not rotate" \
  "1 itaku: keys.rotate-pseudonym is not open to an operator (privacy officers only)" "$rc $err"
check "the key unchanged by the refusal" "$key" "$(head -c 64 "$KEY")"
run keys rotate-pseudonym --reason "survey contract renewed"
check "rotate exit" 0 "$rc${err:+ $err}"
key2=$(head -c 64 "$KEY")
check "a new key" 1 "$([[ $key2 =~ ^[0-9a-f]{64}$ && $key2 != "$key" ]] && echo 1)"
check "the new key file: 0600" "-rw------- $SVC 65" "$(stat -c '%A %U %s' "$KEY")"
retired=$(ls "$KEYDIR" | grep '^pseudonym\.key\.[0-9]\{8\}T[0-9]\{6\}Z\.retired$')
check "one retired key" 1 "$(echo "$retired" | grep -c .)"
check "the retired key is the old one, 0600" "-rw------- $SVC $key" \
  "$(stat -c '%A %U' "$KEYDIR/$retired") $(head -c 64 "$KEYDIR/$retired")"
contains "rotate says what changes" "rotated the pseudonym key: now $(fingerprint "$key2") (was $(fingerprint "$key"), kept as $KEYDIR/$retired)" "$out"
contains "rotate says earlier deliveries are unchanged" "earlier deliveries are unchanged" "$out"
check "rotation audited with the new fingerprint" \
  "$OFFICER $(fingerprint "$key2") $(fingerprint "$key") $retired survey contract renewed" \
  "$(sql "SELECT actor, json_extract(details, '\$.fingerprint'), json_extract(details, '\$.previous'),
    json_extract(details, '\$.retired_file'), json_extract(details, '\$.reason')
    FROM audit_event WHERE action='pseudonym.key-rotated'" | tr '|' ' ')"
check "no key in the audit trail" 0 \
  "$(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%$key%' OR details LIKE '%$key2%'")"
rotated=$(pseudonyms rotated)
check "pseudonyms after rotation are under the new key" "$(hmac "$key2" S90001 S90002)" "$rotated"
check "and differ from the earlier ones" 1 "$([ "$rotated" != "$first" ] && echo 1)"
check "the earlier package still carries the earlier pseudonyms" "$first" \
  "$(python3 -c 'import csv, sys
print(" ".join(r[0] for r in list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))[1:]))' \
  "$work/first/files/data.csv")"

# ---- A key file open to others stops deliveries ----------------------------
packages=$(ls "$work/usb" | wc -l)
chmod 0644 "$KEY"
run deliver --profile survey-stats --input "$work/export.csv" --via media --out "$work/usb"
check "delivery with a 0644 key exit" 1 "$rc"
check "the refusal names the file and the mode" \
  "itaku: the pseudonym key $KEY is open to group or others (mode 0644); it must be mode 0600" "$err"
check "nothing written" "$packages" "$(ls "$work/usb" | wc -l)"
check "the refusal is on record" 1 "$(sql "SELECT count(*) FROM audit_event
  WHERE action LIKE '%refused' AND details LIKE '%the pseudonym key%mode 0644%'")"
chmod 0600 "$KEY"
check "0600 again: delivered as before" "$rotated" "$(pseudonyms chmod-back)"

# ---- A store made before the key moved out ---------------------------------
# The old layout: the key in meta "pseudonym_key", no key file, no
# fingerprint. The first delivery moves it out; pseudonyms stay.
old=0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210
sql "INSERT INTO meta (key, value) VALUES ('pseudonym_key', '$old');
  DELETE FROM meta WHERE key = 'pseudonym_key_fingerprint'"
rm -f "$KEY"
check "the old layout is in place" "1 0" \
  "$(sql "SELECT count(*) FROM meta WHERE key='pseudonym_key'") $(ls "$KEYDIR" | grep -c '^pseudonym\.key$')"
check "pseudonyms of an old store are HMAC under its key" "$(hmac "$old" S90001 S90002)" \
  "$(pseudonyms old-store)"
check "the key moved out: 0600, the service account's" "-rw------- $SVC $old" \
  "$(stat -c '%A %U' "$KEY") $(head -c 64 "$KEY")"
check "and left the store" 0 "$(sql "SELECT count(*) FROM meta WHERE key='pseudonym_key'")"
check "the store keeps its fingerprint" "$(fingerprint "$old")" \
  "$(sql "SELECT value FROM meta WHERE key='pseudonym_key_fingerprint'")"
check "the move audited once, with the fingerprint" "1 $(fingerprint "$old") $KEY" \
  "$(sql "SELECT count(*), json_extract(details, '\$.fingerprint'), json_extract(details, '\$.file')
    FROM audit_event WHERE action='pseudonym.key-moved'" | tr '|' ' ')"
check "not a byte of the old key left in the store's files" 0 "$(in_store_files "$old")"
check "the next delivery: the same pseudonyms" "$(hmac "$old" S90001 S90002)" "$(pseudonyms old-again)"
check "moved once" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='pseudonym.key-moved'")"

run audit verify
contains "audit trail intact" "audit trail intact" "$out"
finish pseudonym
