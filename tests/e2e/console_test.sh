#!/usr/bin/env bash
# The staff console (issue 13) in a real headless Chromium: this script sets
# up the daemon with the console on a free loopback port and the fixtures
# through the real CLI, then hands over to tests/console/browser_test.mjs
# (playwright-core driving Debian's /usr/bin/chromium), which signs staff in
# with TOTP codes it computes itself, walks the pages, delivers a CP932
# export through the upload form and opens the downloaded package with the
# stock openssl and unzip. Every page it visits is saved as a PNG in
# <build dir>/console-screenshots.
# Usage: console_test.sh ITAKU ITAKU_GEN SOURCE_DIR
console="$3/tests/console"
if [ ! -d "$console/node_modules/playwright-core" ]; then
  echo "console e2e: $console/node_modules is missing; run \`npm ci --prefix tests/console\`" \
    "(ops/setup does)" >&2
  exit 1
fi
source "$3/tests/e2e/lib.sh" "$@"
command -v node >/dev/null || { echo "console e2e: node is missing (ops/setup installs it)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "console e2e: /usr/bin/chromium is missing (ops/setup installs it)" >&2; exit 1; }
build=$(dirname "$(dirname "$ITAKU")")
shots="$build/console-screenshots"
rm -rf "$shots" && mkdir -p "$shots"

# The console's certificate; its key is the service account's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/console.key" \
  -out "$work/console.pem" 2>/dev/null || { echo "console certificate failed" >&2; exit 1; }
chown "$SVC" "$work/console.key" && chmod 600 "$work/console.key"

stop_daemon
log_from=$(( $(stat -c %s "$work/daemon.log" 2>/dev/null || echo 0) + 1 ))
start_daemon --console-listen 127.0.0.1:0 --console-cert "$work/console.pem" \
  --console-key "$work/console.key" || exit 1
port=""
for _ in $(seq 1 100); do
  port=$(tail -c +"$log_from" "$work/daemon.log" |
    sed -n 's|^console listening on https://127.0.0.1:\([0-9]*\)/$|\1|p')
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "the console did not start:" >&2; cat "$work/daemon.log" >&2; exit 1; }

# Fixtures. The collection agency: a package certificate and an NDA that
# ends in 20 days (the dashboard lists NDAs ending within 30).
from=$(day "-30 days") nda_until=$(day "+20 days")
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/agency.key" -out "$work/agency.crt" \
  -days 30 -subj "/CN=agency-a/O=Itaku test" 2>/dev/null
run contractor add agency-a --name "夢前収納サービス" --cert "$work/agency.crt"
check "fixture: contractor added" 0 "$rc"
printf 'nda\n' > "$work/nda.pdf"
run nda add agency-a --signed "$from" --from "$from" --until "$nda_until" \
  --document "$work/nda.pdf" --signatory "収納 太郎"
check "fixture: NDA ending in 20 days" 0 "$rc"
# Its outsourcing contract for billing, dated as the NDA.
sign_contract agency-a "$from" "$from" "$nda_until" billing >/dev/null
check "fixture: contract for billing" 0 "$?"
# The billing profile as ops/examples has it, in force from a month ago to
# the NDA's last day; a new profile is approved by the second officer.
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $nda_until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/agency-billing.toml"
approved profile import "$work/agency-billing.toml"
check "fixture: billing profile imported" 0 "$rc"
# A corrective-action request received 20 days ago: its decision is 12 days
# overdue for the daemon now (decide within 7 days, counted from receipt).
run request add --subscriber S00000007 --contractor agency-a --channel phone \
  --text "督促の電話が多すぎる" --received-at "$(day "-20 days")" --json
check "fixture: request added" 0 "$rc"
request_id=$(json '["id"]')
run request list --overdue --json
contains "fixture: request is overdue" "decision overdue since" "$out"
# The export the operator uploads: CP932, Japanese header labels, and
# canaries in every column the billing profile withholds (postal_code, which
# the operator's proposal adds, keeps its real values).
canaries=name_kana,email,birth_date,gender,occupation,bank_code,branch_code,account_type,house_drawing
"$GEN" --rows 50 --seed 13 --encoding cp932 --header labels --canary "$canaries" \
  --out "$work/export.csv" || exit 1
# One-time enrolment codes, issued by the officer.
code() { itaku staff enrol-code "$1" --json | py 'import json,sys; print(json.load(sys.stdin)["code"])'; }
officer_code=$(code "$OFFICER") officer2_code=$(code "$OFFICER2") clerk_code=$(code "$CLERK")
check "fixture: enrolment codes" 3 "$(printf '%s\n' "$officer_code" "$officer2_code" "$clerk_code" | grep -c .)"

CONSOLE_URL="https://127.0.0.1:$port" \
  OFFICER_NAME=$OFFICER OFFICER2_NAME=$OFFICER2 CLERK_NAME=$CLERK \
  OFFICER_CODE=$officer_code OFFICER2_CODE=$officer2_code CLERK_CODE=$clerk_code \
  REQUEST_ID=$request_id CONTRACTOR=agency-a PROFILE_ID=agency-billing \
  PROFILE_TOML="$work/agency-billing.toml" EXPORT="$work/export.csv" CANARY_FIELDS=$canaries \
  AGENCY_CERT="$work/agency.crt" AGENCY_KEY="$work/agency.key" \
  ITAKU="$ITAKU" ITAKU_SOCKET="$SOCK" WORK="$work" CLOCK_FILE="$work/clock" \
  BUILD_SCREENSHOTS="$shots" \
  node "$console/browser_test.mjs" | tee "$work/browser.out"
browser_rc=${PIPESTATUS[0]}
check "browser test exit status" 0 "$browser_rc"
passed=$((passed + $(grep -c '^ok - ' "$work/browser.out")))
failed=$((failed + $(grep -c '^FAIL - ' "$work/browser.out")))

itaku audit verify >/dev/null
check "audit chain intact" 0 $?
finish "console e2e"
