#!/usr/bin/env bash
# The contractor portal (policy 6(2) サーバへのアクセス) through the real itaku
# binary (`itaku serve`) with real curl as the contractors: download and
# byte-for-byte match, the list, the authorisation matrix (another
# contractor's package, no certificate, an unregistered one, expired, used
# up, suspended, revoked), a Range resume counted once, used-up and revoked
# files deleted, old TLS refused, the record of every download, and the leak
# test on what came through. (portal_hostile_test.sh: connection floods,
# certificates outside their validity, parallel downloads, Range counting.)
# Usage: portal_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")
cert() {  # cert NAME: key + self-signed certificate valid for 127.0.0.1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$1.key" -out "$work/$1.pem" -days 30 \
    -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
# serve: restarts the daemon with the portal on a free port; sets $base, and
# $serve_log to what this daemon has written so far (serve_log again to
# refresh it).
log_from=1
serve_log() { serve_log=$(tail -c +"$log_from" "$work/daemon.log" 2>/dev/null); }
serve() {
  stop_daemon
  log_from=$(( $(stat -c %s "$work/daemon.log" 2>/dev/null || echo 0) + 1 ))
  start_daemon --portal-listen 127.0.0.1:0 --portal-cert "$work/server.pem" \
    --portal-key "$work/server.key" || exit 1
  local i port=""
  for i in $(seq 1 100); do
    serve_log
    port=$(sed -n 's|^portal listening on https://127.0.0.1:\([0-9]*\)/portal/v1/packages$|\1|p' <<<"$serve_log")
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "the portal did not start:" >&2; echo "$serve_log" >&2; exit 1; }
  base="https://127.0.0.1:$port/portal/v1/packages"
}
as() {  # as WHO ARGS...: curl with WHO's client certificate into $OUT (or body); prints the status
  local who=$1
  shift
  curl -s -o "${OUT:-$work/body}" -w '%{http_code}' --cacert "$work/server.pem" \
    --cert "$work/$who.pem" --key "$work/$who.key" "$@"
}

for n in server builder agency stranger; do cert "$n"; done
# The portal's key is the service account's; the daemon runs as that account.
chown "$SVC" "$work/server.key" && chmod 600 "$work/server.key"
withheld=email,birth_date,gender,occupation,bank_code,branch_code,account_type,account_number,account_holder,services
"$GEN" --rows 300 --seed 12 --canary "$withheld" --drawings "$work/drawings" --out "$work/all.csv" || exit 1
head -n 101 "$work/all.csv" > "$work/orders.csv"
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add builder-b --name "夢前建設" --cert "$work/builder.pem" \
  --portal-cert "$work/builder.pem" >/dev/null
itaku contractor add agency-a --name "夢前収納" --cert "$work/agency.pem" \
  --portal-cert "$work/agency.pem" >/dev/null
approved contractor update agency-a --portal-cert "$work/builder.pem"
check "one certificate, one contractor" 1 "$rc"
contains "shared certificate reason" "is already registered for contractor builder-b" "$err"
for c in builder-b agency-a; do
  itaku nda add $c --signed "$from" --from "$from" --until "$until" \
    --document "$work/nda.pdf" --signatory x >/dev/null
done
# builder-b's outsourcing contract for installation (agency-a gets nothing).
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/builder-installation.toml" > "$work/inst.toml"
approved profile import "$work/inst.toml"
check "profile imported (approved by the second officer)" 0 "$rc"
publish() {  # publish ARGS...: publishes the work orders; sets $pkg
  run deliver --profile builder-installation --input "$work/orders.csv" \
    --attachments "$work/drawings" --via portal --json "$@"
  pkg=$(json '["portal_package"]')
}

# An overdue corrective-action request: serve warns about it at start.
received=$(day "-20 days")
itaku request add --subscriber S77 --contractor builder-b --channel phone --text "x" \
  --received-at "$received" >/dev/null
publish --max-downloads 2
check "publish exit" 0 "$rc"
first=$pkg
file=$(sql "SELECT path FROM portal_package WHERE id = '$first'")
cp "$file" "$work/published.p7m"  # the daemon deletes it once used up
serve
for _ in $(seq 1 100); do [[ "$serve_log" == *overdue* ]] && break; sleep 0.05; serve_log; done
contains "serve warns of overdue requests" "warning: request 1 (subscriber S77, contractor builder-b, received): decision overdue since $(day "$received + 8 days")" "$serve_log"
check "list status" 200 "$(as builder "$base")"
check "list shows the package" "$first" "$(py "import json; print(','.join(p['id'] for p in json.load(open('$work/body'))))")"
check "other contractor's list is empty" 200 "$(as agency "$base")"
check "list only one's own" "[]" "$(cat "$work/body")"
check "download status" 200 "$(OUT="$work/got.p7m" as builder "$base/$first")"
check "byte for byte" 0 "$(cmp -s "$work/got.p7m" "$file"; echo $?)"
check "another contractor's package: 404" 404 "$(as agency "$base/$first")"
check "unregistered certificate refused" 403 "$(as stranger "$base")"
curl -s -o /dev/null --cacert "$work/server.pem" "$base" 2>/dev/null
check "no client certificate: handshake refused" 1 "$([[ $? -ne 0 ]] && echo 1 || echo 0)"
curl -s -o /dev/null --cacert "$work/server.pem" --cert "$work/builder.pem" --key "$work/builder.key" \
  --tlsv1.1 --tls-max 1.1 "$base" 2>/dev/null
check "TLS 1.1 refused" 1 "$([[ $? -ne 0 ]] && echo 1 || echo 0)"
curl -s -o /dev/null --cacert "$work/server.pem" --cert "$work/builder.pem" --key "$work/builder.key" \
  --tlsv1.2 --tls-max 1.2 "$base" 2>/dev/null
check "TLS 1.2 accepted" 0 $?

# A broken download (its first 1000 bytes) resumed with Range gives the
# identical file, and counts once: every byte was sent once more.
check "first part status" 206 "$(OUT="$work/part.p7m" as builder "$base/$first" -r 0-999)"
check "a first part is not a download" 1 "$(sql "SELECT downloads FROM portal_package WHERE id = '$first'")"
check "resume status" 206 "$(OUT="$work/part.p7m" as builder "$base/$first" -C -)"
check "resumed file identical" 0 "$(cmp -s "$work/part.p7m" "$work/published.p7m"; echo $?)"
check "two complete downloads counted" 2 "$(sql "SELECT downloads FROM portal_package WHERE id = '$first'")"
check "used up: 410" 410 "$(as builder "$base/$first")"
check "used up: its file deleted at once" 0 "$([[ -e "$file" ]] && echo 1 || echo 0)"
check "used up: its record stays" 1 "$(sql "SELECT count(*) FROM portal_package WHERE id = '$first'")"

# The leak test on what came through the portal.
mkdir -p "$work/open"
openssl cms -decrypt -binary -inform DER -in "$work/got.p7m" -recip "$work/builder.pem" \
  -inkey "$work/builder.key" -out "$work/open/p.zip" 2>/dev/null && unzip -q "$work/open/p.zip" -d "$work/open/files"
check "package opens" 0 $?
check "no canary came through" 0 "$(grep -rac 'CANARY-' "$work/open/files" | awk -F: '{s+=$2} END {print s+0}')"
expected=$(py "
import csv
rows = list(csv.DictReader(open('$work/orders.csv', encoding='utf-8-sig')))
print(' '.join(sorted(r['house_drawing'] for r in rows if r['house_drawing'])))")
check "only the delivered records' drawings" "$expected" "$(ls "$work/open/files/drawings" | sort | tr '\n' ' ' | sed 's/ $//')"

# Revoked and expired packages answer 410.
publish
second=$pkg
check "new package downloadable" 200 "$(as builder "$base/$second")"
itaku portal revoke "$second" >/dev/null
check "revoked: 410" 410 "$(as builder "$base/$second")"
check "revoked file removed" 0 "$(sql "SELECT path FROM portal_package WHERE id = '$second'" | xargs ls 2>/dev/null | wc -l)"
check "removals on record with their reasons" "$first used up,$second revoked" \
  "$(sql "SELECT group_concat(r, ',') FROM (SELECT substr(subject, 8) || ' ' || json_extract(details, '\$.reason') AS r FROM audit_event WHERE action = 'portal.package-removed' ORDER BY seq)")"
publish --expires-in 1m
third=$pkg
# The daemon's clock stays there: a clock that goes back more than a minute
# is a clock anomaly, and deliveries wait until it is right again.
set_clock "+2 minutes"
check "expired: 410" 410 "$(as builder "$base/$third")"

# Suspension takes effect at once.
publish
fourth=$pkg
itaku contractor suspend builder-b --reason "audit" >/dev/null
check "suspended contractor refused" 403 "$(as builder "$base/$fourth")"
itaku contractor activate builder-b >/dev/null
check "active again" 200 "$(as builder "$base/$fourth")"

# On record: every request, and per package who downloaded what and when.
run portal list --contractor builder-b --json
check "downloads on record" 1 "$(json "[0]['download_log'][0]['complete']" | grep -c True)"
check "every request audited (14 made)" 14 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'portal.request'")"
check "refusal audited with its outcome" 1 "$([[ $(sql "SELECT count(*) FROM audit_event WHERE action = 'portal.request' AND details LIKE '%\"status\":404%'") -ge 1 ]] && echo 1 || echo 0)"
check "no canary in the audit trail" 0 "$(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%CANARY-%'")"
itaku audit verify >/dev/null
check "audit chain intact" 0 $?

finish "portal e2e"
