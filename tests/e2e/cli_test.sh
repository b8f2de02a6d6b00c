#!/usr/bin/env bash
# End to end through the real itaku binary: the issue's acceptance
# transcript, refusals with their exact one-line reasons and exit codes, the
# audit of each refusal (by the daemon, under the staff member's name), the
# CLI without its daemon, a clock nobody can set from the environment, and
# tampering found by `itaku audit verify`.
# Usage: cli_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
# The transcript runs at the real time (the harness registered the staff
# then, and the daemon's clock only moves forward from its newest audit
# event): the NDA and the example profile are dated around today, and the
# one check that needs a later day comes last.
from=$(day "-30 days") until=$(day "+123 days")
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$GEN" --rows 500 --seed 7 --out "$work/export.csv" || exit 1
printf 'signed NDA scan\n' > "$work/nda.pdf"
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/agency-billing.toml" > "$work/billing.toml"

# Without its daemon the CLI does nothing on its own: one line naming the
# socket, and no store is opened or created by accident.
stop_daemon
run contractor list
check "no daemon exit" 1 "$rc"
contains "no daemon reason" "cannot reach the Itaku daemon at $SOCK" "$err"
check "no daemon: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
check "no daemon: nothing printed" "" "$out"

# The catalog and the purposes need neither the daemon nor a store.
run fields
check "fields exit" 0 "$rc"
contains "fields: a financial field, billing only" "$(printf 'account_number\t口座番号\tfinancial\tbilling')" "$out"
contains "fields: birth date for statistics only" "$(printf 'birth_date\t生年月日\tattribute\tstatistics')" "$out"
contains "fields: purposes with their clause" "$(printf 'installation\t2(3)[1]\t契約締結・工事施工')" "$out"
run fields --json
check "fields json" "17 7 subscriber_id,name,name_kana,postal_code,address,phone,house_drawing" \
  "$(echo "$out" | jq_ 'len(d["fields"]), len(d["purposes"]), ",".join(d["purposes"][0]["fields"])')"
start_daemon || exit 1
# The harness's events (store, staff, daemon): the transcript's come after.
base=$(sql "SELECT count(*) FROM audit_event")

# The acceptance transcript. `itaku init` ran as the service account
# (lib.sh) and registered the first privacy officer; run again, it keeps
# the store it finds.
run staff list
check "init: staff list" 0 "$rc"
contains "init: the officer registered" "$(printf '%s\tprivacy-officer\t%s\tadded ' "$OFFICER" "$OFFICER")" "$out"
contains "init: by the service account" "by $SVC" "$(echo "$out" | grep "^$OFFICER	")"
reinit=$(runuser -u "$SVC" -- "$ITAKU" --db "$ITAKU_DB" init --officer "$OFFICER" 2>&1)
check "init twice exit" 0 "$?"
contains "init twice keeps the store" "store already initialised: $ITAKU_DB" "$reinit"
check "init twice: one store.init" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='store.init'")"
run contractor add agency-a --name "夢前収納サービス" --email ops@agency-a.example
check "contractor add" 0 "$rc"
check "contractor add text" "added contractor agency-a (夢前収納サービス), active" "$out"
run nda add agency-a --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "山田 一郎"
check "nda add" 0 "$rc"
sha=$(sha256sum "$work/nda.pdf" | cut -d' ' -f1)
contains "nda sha" "document sha256 $sha" "$out"
check "nda copy kept" "$sha" "$(sha256sum "$ITAKU_DB.d/documents/$sha.pdf" | cut -d' ' -f1)"
# The outsourcing contract covering billing, dated as the NDA but running
# on past it: the expired NDA checked last of all stays the one reason.
sign_contract agency-a "$from" "$from" "$(day "$until + 1 year")" billing >/dev/null
check "contract add" 0 "$?"
# A new profile widens what goes out: it waits for a second officer.
run profile import "$work/billing.toml"
check "profile import proposed" 0 "$rc"
contains "profile import proposed text" "proposed: " "$out"
proposal=$(echo "$out" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p')
AS=$OFFICER2 run approval approve "$proposal"
check "profile import" 0 "$rc"
contains "profile import text" "imported profile agency-billing version 1 for agency-a" "$out"
run deliver --profile agency-billing --input "$work/export.csv" --via media --dry-run
check "dry run" 0 "$rc"
contains "dry run allowed" "allowed — nothing was sent" "$out"
contains "dry run sent" "fields sent: subscriber_id, name, address, phone, account_number, account_holder, services" "$out"
contains "dry run withheld" "fields withheld: name_kana, postal_code, email, birth_date, gender, occupation, bank_code, branch_code, account_type, house_drawing" "$out"
contains "dry run count" "records: 500" "$out"
run history --subscriber S90001 --json
check "history" 0 "$rc"
check "history json" "S90001 0" "$(echo "$out" | jq_ 'd["subscriber"], len(d["receipts"])')"
run breach-scope --contractor agency-a --since "$from" --json
check "breach-scope" 0 "$rc"
check "breach-scope json" "agency-a $(day now) 0" \
  "$(echo "$out" | jq_ 'd["contractor"], d["until"], d["subscriber_count"]')"
# The transcript's events: contractor, NDA, contract, the proposal, the
# import, its approval, the dry run.
run audit verify
check "audit verify" "audit trail intact: $((base + 7)) events" "$(head -1 <<<"$out")"
contains "audit verify: the records" "  checked: 1 deliveries, 0 receipts, 0 media and 0 portal packages match what the trail recorded" "$out"
contains "audit verify: what it cannot rule out" "  not ruled out: no checkpoint from outside this machine was given" "$out"

# --json everywhere, machine-readable.
run deliver --profile agency-billing --input "$work/export.csv" --via sftp --dry-run --json
check "dry run json" "allow 500 True" "$(echo "$out" | jq_ 'd["decision"], d["records"], d["dry_run"]')"

# Times as staff see them (issue 12): Japan's time to the minute in text,
# ISO 8601 with +09:00 in JSON; the store and the audit trail keep UTC.
jst() { TZ=Asia/Tokyo date -d "$1" "+$2"; }  # jst UTC FORMAT
dry=$(echo "$out" | jq_ 'd["delivery_id"]')
ordered=$(sql "SELECT ordered_at FROM delivery WHERE id = $dry")
check "ordered_at stored in UTC" "$(utc "$ordered")" "$ordered"
check "deliver json: ordered_at in JST" "$(jst "$ordered" '%Y-%m-%dT%H:%M:%S+09:00')" \
  "$(echo "$out" | jq_ 'd["ordered_at"]')"
run delivery show "$dry"
contains "delivery show: ordered in JST" "ordered: $(jst "$ordered" '%Y-%m-%d %H:%M JST') by $OFFICER" "$out"
run delivery show "$dry" --json
check "delivery show json: ordered_at in JST" "$(jst "$ordered" '%Y-%m-%dT%H:%M:%S+09:00')" \
  "$(echo "$out" | jq_ 'd["ordered_at"]')"
added=$(sql "SELECT added_at FROM staff WHERE name = '$OFFICER'")
run staff list
contains "staff list: added in JST" "$(printf '\tadded %s by %s' "$(jst "$added" '%Y-%m-%d %H:%M JST')" "$SVC")" "$out"
run staff list --json
check "staff list json: added_at in JST" "$(jst "$added" '%Y-%m-%dT%H:%M:%S+09:00')" \
  "$(echo "$out" | jq_ "[m['added_at'] for m in d if m['name'] == '$OFFICER'][0]")"
check "the audit trail keeps UTC" 0 "$(sql "SELECT count(*) FROM audit_event WHERE details LIKE '%+09:00%' OR at NOT LIKE '%Z'")"

# Re-importing the same profile makes no new version; a changed one does.
run profile import "$work/billing.toml"
check "reimport same" "profile agency-billing unchanged (version 1)" "$out"
# A shorter retention narrows: it takes effect at once, no second person.
sed -i 's/retention_days = 60/retention_days = 45/' "$work/billing.toml"
run profile import "$work/billing.toml" --json
check "reimport changed" "2" "$(echo "$out" | jq_ 'd["version"]')"

# Refusals: one line naming the clause, non-zero exit, an audit event each.
sed 's/"services"\]/"services", "birth_date"]/' "$work/billing.toml" > "$work/wide.toml"
run profile import "$work/wide.toml"
check "wide profile exit" 1 "$rc"
check "wide profile reason" "itaku: wide.toml: profile agency-billing refused: birth_date is not used for purpose billing (policy 2(3))" "$err"
sed 's/agency-a/agency-x/' "$work/billing.toml" > "$work/stranger.toml"
run profile import "$work/stranger.toml"
check "unknown contractor" "itaku: stranger.toml: profile agency-billing refused: unknown contractor agency-x (register it with: itaku contractor add)" "$err"
run deliver --profile agency-billing --input "$work/export.csv" --via portal --dry-run
check "transport refused exit" 1 "$rc"
contains "transport refused reason" "refused: profile agency-billing does not allow transport portal (allows media, sftp; policy 6(2))" "$err"
run contractor suspend agency-a --reason "audit finding"
run deliver --profile agency-billing --input "$work/export.csv" --via media --dry-run
check "suspended exit" 1 "$rc"
contains "suspended reason" "contractor agency-a is suspended (policy 4(3): deliveries go only to active contractors)" "$err"
run contractor activate agency-a
run deliver --profile agency-billing --input "$work/export.csv" --via sftp
check "sftp without a server" 1 "$rc"
contains "sftp without a server reason" "contractor agency-a has no SFTP server registered" "$err"
run deliver --profile agency-billing --input "$work/export.csv" --via media
check "media needs --out" "itaku: --via media needs --out DIR (the medium's mount point)" "$err"
printf 'subscriber_id,name,nickname\nS1,x,y\n' > "$work/bad.csv"
run deliver --profile agency-billing --input "$work/bad.csv" --via media --dry-run
check "unknown column exit" 1 "$rc"
check "unknown column reason" "itaku: bad.csv:1: column 3 is not a catalog field id or label (policy 1)" "$err"
run nda add agency-a --signed 2026-03-20 --from 2026-04-01 --until 2026-03-01 --document "$work/nda.pdf" --signatory x
check "nda dates" "itaku: NDA for agency-a: --until 2026-03-01 is before --from 2026-04-01" "$err"
run contractor add agency-a --name again
check "duplicate contractor" "itaku: contractor agency-a already exists" "$err"

run nda list --expiring-within 200 --json
check "nda expiring" "1 123" "$(echo "$out" | jq_ 'len(d), d[0]["days_left"]')"
run nda list --expiring-within 30
check "nda not expiring" "no NDA ends within 30 days" "$out"

# The clock is the daemon's alone: ITAKU_NOW (which once moved it) changes
# nothing, whether the CLI or the daemon has it in its environment, and no
# product code reads it.
check "ITAKU_NOW reaches the CLI's environment" 2020-01-01T00:00:00Z \
  "$(ITAKU_NOW=2020-01-01T00:00:00Z runuser -u "$AS" -g root -- printenv ITAKU_NOW)"
t0=$(utc "-5 seconds")
ITAKU_NOW=2020-01-01T00:00:00Z run contractor add agency-t --name "時刻確認"
t1=$(utc "+5 seconds")
check "ITAKU_NOW in the CLI: exit" 0 "$rc"
at=$(sql "SELECT at FROM audit_event WHERE action='contractor.add' AND subject='contractor:agency-t' ORDER BY seq DESC LIMIT 1")
check "ITAKU_NOW in the CLI: the event is dated now, not 2020" yes \
  "$([[ ! "$at" < "$t0" && ! "$at" > "$t1" ]] && echo yes || echo "no: $at not in $t0..$t1")"
stop_daemon
ITAKU_NOW=2020-01-01T00:00:00Z start_daemon || exit 1
check "ITAKU_NOW in the daemon's environment" 1 \
  "$(tr '\0' '\n' < "/proc/$daemon_pid/environ" | grep -c '^ITAKU_NOW=2020-01-01T00:00:00Z$')"
t0=$(utc "-5 seconds")
run contractor suspend agency-t --reason "clock check"
t1=$(utc "+5 seconds")
check "ITAKU_NOW in the daemon: exit" 0 "$rc"
at=$(sql "SELECT at FROM audit_event WHERE action='contractor.status' AND subject='contractor:agency-t' ORDER BY seq DESC LIMIT 1")
check "ITAKU_NOW in the daemon: the event is dated now, not 2020" yes \
  "$([[ ! "$at" < "$t0" && ! "$at" > "$t1" ]] && echo yes || echo "no: $at not in $t0..$t1")"
stop_daemon
start_daemon || exit 1
check "no product code reads ITAKU_NOW" "" \
  "$(grep -rn ITAKU_NOW "$SRC/gateway" "$SRC/contracts" "$SRC/policies" "$SRC/transports")"

# A refusal whose audit event cannot be written says so (regression: five
# audit writes once ignored their status, and such a refusal vanished).
sqlite3 "$ITAKU_DB" "CREATE TRIGGER audit_full BEFORE INSERT ON audit_event BEGIN SELECT RAISE(FAIL, 'disk full'); END"
run contractor add agency-a --name again
check "unaudited refusal exit" 1 "$rc"
contains "unaudited refusal says so" "itaku: contractor agency-a already exists (and this refusal could not be written to the audit trail:" "$err"
run deliver --profile no-such-profile --input "$work/export.csv" --via media --dry-run
check "unaudited delivery refusal exit" 1 "$rc"
contains "unaudited delivery refusal says so" "unknown profile no-such-profile (and this refusal could not be written to the audit trail:" "$err"
sqlite3 "$ITAKU_DB" "DROP TRIGGER audit_full"

# A later day, last of all (the daemon's clock never goes back behind its
# newest audit event): the NDA has ended.
later=$(day "$until + 31 days")
CLOCK=$(noon "$later") run deliver --profile agency-billing --input "$work/export.csv" --via media --dry-run
check "expired nda exit" 1 "$rc"
contains "expired nda reason" "contractor agency-a has no NDA in force on $later (its last NDA ended $until)" "$err"

# Every refusal above is on record, audited by the daemon under the name of
# the staff member who asked.
refusals=$(sqlite3 "$ITAKU_DB" "SELECT count(*) FROM audit_event WHERE action LIKE '%refused' OR action='delivery.failed'")
check "refusals audited" 10 "$refusals"
refusals=$(sqlite3 "$ITAKU_DB" "SELECT count(*) FROM audit_event WHERE (action LIKE '%refused' OR action='delivery.failed') AND actor='$OFFICER'")
check "refusals audited under the officer's name" 10 "$refusals"
leaked=$(sqlite3 "$ITAKU_DB" "SELECT count(*) FROM audit_event WHERE details LIKE '%山田%'")
check "signatory not in audit" 0 "$leaked"
run audit verify
check "audit intact after refusals" 0 "$rc"

# Tampering with the trail is found and named.
seq=$(sql "SELECT min(seq) FROM audit_event WHERE action='profile.import'")
sqlite3 "$ITAKU_DB" "UPDATE audit_event SET actor='mallory' WHERE seq=$seq"
run audit verify
check "tamper exit" 1 "$rc"
check "tamper reason" "itaku: audit trail broken: audit event $seq (profile.import): contents do not match its keyed hash (edited, or the chain was recomputed without this machine's audit key)" "$err"

run --help
check "help" 0 "$rc"
run deliver --bogus
check "usage error exit" 2 "$rc"

finish "cli e2e"
