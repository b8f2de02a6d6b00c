#!/usr/bin/env bash
# The staff API end to end: the real daemon, the real CLI, real OS users
# (runuser) and real `curl --unix-socket`. Identity comes only from the
# kernel (SO_PEERCRED): every command of the authorisation matrix is asked
# by each role and by an OS user who is not staff, forged identities change
# nothing, the two-person rule holds through the CLI, bad requests leave the
# daemon serving, the store is the daemon's alone, and two people acting on
# the same thing at once do it once.
# Usage: staff_api_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
MALLORY=itk-mallory OFFICER3=itk-officer3
os_user "$MALLORY"
os_user "$OFFICER3"
mallory_uid=$(id -u "$MALLORY")
# text KEY JSON / number KEY JSON: the first string or number under KEY in
# a reply (the daemon writes compact JSON; the CLI's --json indents it).
text() { [[ $2 =~ \"$1\":\ ?\"([^\"]*)\" ]] && echo "${BASH_REMATCH[1]}"; }
number() { [[ $2 =~ \"$1\":\ ?([0-9]+) ]] && echo "${BASH_REMATCH[1]}"; }
# ok NAME: the last `run` succeeded (what it said on stderr if not).
ok() { check "$1" 0 "$rc${err:+ $err}"; }
# api USER CURL-ARGS...: one request over the socket as USER; the reply's
# body in $body and its HTTP status in $code.
api() {
  local user=$1 reply
  shift
  reply=$(runuser -u "$user" -g root -- curl -s --unix-socket "$SOCK" -w '\n%{http_code}' "$@")
  body=$(echo "$reply" | sed '$d') code=$(echo "$reply" | tail -n 1)
}
error_of() { text error "$body"; }
proposal_of() { echo "$1" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p'; }
# still_serving NAME: the daemon answers an operator's list after NAME.
still_serving() {
  AS=$CLERK run contractor list
  check "daemon still serving after $1" 0 "$rc"
}

# ---- The authorisation matrix -------------------------------------------
# Every command × officer, operator, auditor, and an OS user who is not
# staff. ok: anything but the role refusal (the empty arguments may still
# be refused as incomplete); officers / read-only: the exact refusal.
matrix_table='
contractor.list        ok ok       ok
contractor.show        ok ok       ok
contractor.add         ok ok       read-only
contractor.update      ok ok       read-only
contractor.probe       ok ok       read-only
contractor.suspend     ok ok       read-only
contractor.activate    ok ok       read-only
contractor.terminate   ok ok       read-only
nda.list               ok ok       ok
nda.add                ok ok       read-only
nda.withdraw           ok officers officers
contract.list          ok ok       ok
contract.add           ok ok       read-only
contract.withdraw      ok officers officers
contract.subcontractor ok officers officers
disposal.list          ok ok       ok
disposal.record        ok ok       read-only
check.list             ok ok       ok
check.record           ok ok       read-only
register.export        ok ok       ok
delivery.slip          ok ok       ok
incident.list          ok ok       ok
incident.show          ok ok       ok
incident.open          ok ok       read-only
incident.update        ok ok       read-only
incident.publication   ok officers officers
incident.reported      ok ok       read-only
incident.draft         ok ok       ok
incident.notify        ok ok       read-only
profile.list           ok ok       ok
profile.show           ok ok       ok
profile.import         ok ok       read-only
deliver                ok ok       read-only
delivery.show          ok ok       ok
history                ok ok       ok
breach-scope           ok ok       ok
audit.verify           ok ok       ok
audit.checkpoint       ok ok       read-only
audit.events           ok ok       ok
delivery.list          ok ok       ok
media.list             ok ok       ok
media.handover         ok ok       read-only
media.returned         ok ok       read-only
media.destroyed        ok ok       read-only
media.cancel           ok ok       read-only
paper.list             ok ok       ok
paper.handover         ok ok       read-only
paper.returned         ok ok       read-only
paper.shredded         ok ok       read-only
paper.cancel           ok ok       read-only
portal.list            ok ok       ok
portal.revoke          ok ok       read-only
staff.list             ok ok       ok
staff.add              ok officers officers
staff.remove           ok officers officers
staff.enrol-code       ok officers officers
keys.rotate-pseudonym  ok officers officers
special.list           ok ok       ok
special.add            ok ok       read-only
special.end            ok ok       read-only
request.list           ok ok       ok
request.show           ok ok       ok
request.add            ok ok       read-only
request.decide         ok officers officers
request.instruct       ok ok       read-only
request.answer         ok ok       read-only
request.close          ok ok       read-only
request.notify         ok ok       read-only
request.deadlines      ok ok       ok
request.deadlines.set  ok officers officers
approval.list          ok ok       ok
approval.show          ok ok       ok
approval.approve       ok ok       ok
approval.reject        ok ok       ok
whoami                 ok ok       ok
'
# The table is the source's matrix (policies/access_rules.cc), row for row:
# a command added there fails here until someone decides its cells.
from_source=$(grep -o '{"[a-z.-]*", Access::k[A-Za-z]*}' "$SRC/policies/access_rules.cc" |
  sed 's/{"\([^"]*\)", Access::k\([A-Za-z]*\)}/\1 \2/' | while read -r c a; do
    case $a in
      Read | Approve) echo "$c ok ok ok" ;;
      Operate) echo "$c ok ok read-only" ;;
      Officer) echo "$c ok officers officers" ;;
      *) echo "$c unknown-access-$a" ;;
    esac
  done)
check "table is the source's matrix" "$from_source" "$(echo "$matrix_table" | awk 'NF {print $1, $2, $3, $4}')"
commands=($(echo "$matrix_table" | awk 'NF {print $1}'))
check "matrix has every command" 75 "${#commands[@]}"

# matrix_replies USER: every command asked as USER, in one curl (one
# request each, arguments empty: the role is checked before they are
# parsed); prints STATUS<TAB>ERROR per command (ERROR empty when ok).
matrix_replies() {
  local user=$1 args=() c path
  for c in "${commands[@]}"; do
    path=${c%.set} path=${path//./\",\"}
    [ ${#args[@]} -eq 0 ] || args+=(--next)
    args+=(-s --unix-socket "$SOCK" -w '\n%{http_code}\n' -X POST
      -H 'Content-Type: application/json' --data-raw "{\"path\":[\"$path\"],\"args\":[]}"
      "http://itaku/v1/commands/$c")
  done
  local reply status
  runuser -u "$user" -g root -- curl "${args[@]}" | while IFS= read -r reply && read -r status; do
    printf '%s\t%s\n' "$status" "$(text error "$reply")"
  done
}
# refusal COMMAND EXPECTATION ROLE-WORDS: the exact line expected, or "".
refusal() {
  case $2 in
    read-only) echo "$1 is not open to $3 (auditors read only)" ;;
    officers) echo "$1 is not open to $3 (privacy officers only)" ;;
    *) echo "" ;;
  esac
}
cells=0
refused_cells=()  # actor|command|reason, checked against the audit below
declare -A role_words=([$OFFICER]="a privacy officer" [$CLERK]="an operator" [$AUDITOR]="an auditor")
columns=($OFFICER $CLERK $AUDITOR $MALLORY)
for col in 0 1 2 3; do
  user=${columns[$col]}
  mapfile -t replies < <(matrix_replies "$user")
  check "$user: one reply per command" "${#commands[@]}" "${#replies[@]}"
  i=0
  while read -r c e_officer e_operator e_auditor; do
    [ -n "$c" ] || continue
    expect=([0]=$e_officer [1]=$e_operator [2]=$e_auditor [3]=unregistered)
    status=${replies[$i]%%$'\t'*} error=${replies[$i]#*$'\t'}
    i=$((i + 1)) cells=$((cells + 1))
    case ${expect[$col]} in
      ok)
        if [ "$status" != 403 ] && [[ "$error" != *"is not open to"* ]] && [[ "$error" != "not registered staff"* ]]; then
          passed=$((passed + 1))
        else
          failed=$((failed + 1)); printf 'FAIL %s as %s should be allowed\n  got: %s %s\n' "$c" "$user" "$status" "$error"
        fi ;;
      unregistered)
        check "$c as $user" "403 not registered staff: uid $mallory_uid ($MALLORY)" "$status $error" ;;
      *)
        why=$(refusal "$c" "${expect[$col]}" "${role_words[$user]}")
        check "$c as $user" "403 $why" "$status $error"
        refused_cells+=("$user|$c.refused|$why") ;;
    esac
  done <<< "$matrix_table"
done
check "every cell checked (commands × 4)" "$((${#commands[@]} * 4))" "$cells"

# ---- Every refusal is on record ------------------------------------------
audited=$(sql "SELECT actor || '|' || action || '|' || json_extract(details, '$.reason') FROM audit_event WHERE action LIKE '%.refused'")
declare -A on_record=()
while IFS= read -r line; do on_record[$line]=1; done <<< "$audited"
missing=0
for cell in "${refused_cells[@]}"; do
  [ -n "${on_record[$cell]:-}" ] || { missing=$((missing + 1)); echo "not audited: $cell"; }
done
check "role refusals counted" 53 "${#refused_cells[@]}"
check "every role refusal audited as <command>.refused" 0 "$missing"
check "the unregistered uid's refusals audited with the uid" \
  "${#commands[@]}" "$(sql "SELECT count(DISTINCT subject) FROM audit_event WHERE action='api.refused'
    AND actor='uid $mallory_uid ($MALLORY)' AND subject LIKE '/v1/commands/%'")"
contains "api.refused actor" "uid $mallory_uid ($MALLORY)" "$(sql "SELECT actor FROM audit_event WHERE action='api.refused'")"
api "$MALLORY" http://itaku/v1/whoami
check "whoami refused to a stranger" "403 not registered staff: uid $mallory_uid ($MALLORY)" "$code $(error_of)"
AS=$MALLORY run contractor list
check "CLI as a stranger" "1 itaku: not registered staff: uid $mallory_uid ($MALLORY)" "$rc $err"

# ---- Forged identity ------------------------------------------------------
forged='{"actor":"itk-officer","staff":{"name":"itk-officer","role":"privacy-officer"},
  "path":["contractor","add"],"args":[["id",["forged"]],["--name",["f"]]]}'
api "$AUDITOR" -X POST -H "X-Itaku-Actor: $OFFICER" -H "X-Remote-User: $OFFICER" \
  -H "Authorization: Basic aXRrLW9mZmljZXI6eA==" --data-raw "$forged" http://itaku/v1/commands/contractor.add
check "forged headers and body: still the auditor" \
  "403 contractor.add is not open to an auditor (auditors read only)" "$code $(error_of)"
check "nothing added under a forged name" 0 "$(sql "SELECT count(*) FROM contractor WHERE id='forged'")"
check "the forged request audited as the auditor" "$AUDITOR" \
  "$(sql "SELECT actor FROM audit_event WHERE action='contractor.add.refused' ORDER BY seq DESC LIMIT 1")"
api "$AUDITOR" -H "X-Itaku-Actor: $OFFICER" -H "X-Remote-User: $OFFICER" http://itaku/v1/whoami
check "whoami with forged headers" "200 $AUDITOR auditor" "$code $(text name "$body") $(text role "$body")"
ITAKU_ACTOR=$OFFICER AS=$AUDITOR run staff add nobody --os-user "$MALLORY" --role operator
check "ITAKU_ACTOR in the CLI's environment changes nothing" \
  "1 itaku: staff.add is not open to an auditor (privacy officers only)" "$rc $err"
AS=$AUDITOR run --actor "$OFFICER" staff list
check "no --actor any more" 1 "$((rc != 0))"
contains "--actor is an unknown option" "--actor" "$err"

# ---- Nobody grants themselves --------------------------------------------
run staff add x --os-user "$OFFICER" --role operator
check "self grant refused" "1 itaku: nobody grants a role to themselves ($OFFICER is $OFFICER)" "$rc $err"
run staff add x --os-user "$OFFICER" --role privacy-officer
check "self grant as officer refused" "1 itaku: nobody grants a role to themselves ($OFFICER is $OFFICER)" "$rc $err"
check "self grants audited" 2 "$(sql "SELECT count(*) FROM audit_event
  WHERE action='staff.add.refused' AND actor='$OFFICER' AND details LIKE '%nobody grants%'")"
check "no staff x" 0 "$(sql "SELECT count(*) FROM staff WHERE name='x'")"

# ---- The two-person rule through the CLI ---------------------------------
run staff add "$OFFICER3" --os-user "$OFFICER3" --role privacy-officer
n=$(proposal_of "$out")
ok "officer grant exit"
contains "officer grant is a proposal" "proposed: staff:$OFFICER3 " "$out"
run approval approve "$n" --json
check "proposer cannot approve" \
  "1 itaku: proposal $n was proposed by $OFFICER; a second person decides it (two-person rule)" "$rc $err"
check "proposer refusal kind" refused "$(text kind "$out")"
AS=$CLERK run approval approve "$n"
check "operator cannot approve while two officers exist" \
  "1 itaku: proposal $n: only a privacy officer other than the proposer decides it ($CLERK is operator)" "$rc $err"
AS=$OFFICER2 run approval approve "$n"
ok "second officer approves"
check "approval output" "approved proposal $n
added $OFFICER3 (OS user $OFFICER3) as privacy-officer" "$out"
api "$OFFICER3" http://itaku/v1/whoami
check "the new officer is known by uid" "200 $OFFICER3 privacy-officer" "$code $(text name "$body") $(text role "$body")"
AS=$OFFICER2 run approval approve "$n" --json
check "approve twice" "1 itaku: proposal $n is already approved" "$rc $err"
check "approve twice is a conflict (409)" conflict "$(text kind "$out")"
check "one approval on record" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='proposal.approved' AND subject='proposal:$n'")"
check "the grant recorded once, as the proposer's" "1 $OFFICER" \
  "$(sql "SELECT count(*) || ' ' || actor FROM audit_event WHERE action='staff.add' AND subject='staff:$OFFICER3'")"

# Rejected: nothing happens, and it cannot be approved afterwards.
run staff add mallory --os-user "$MALLORY" --role privacy-officer
m=$(proposal_of "$out")
check "second grant is a proposal" 1 "$([ -n "$m" ] && echo 1)"
AS=$OFFICER2 run approval reject "$m" --note "not staff"
check "reject" "0 rejected proposal $m" "$rc $out"
AS=$OFFICER3 run approval approve "$m" --json
check "approve after reject" "1 itaku: proposal $m is already rejected" "$rc $err"
check "approve after reject is a conflict" conflict "$(text kind "$out")"
run approval show "$m" --json
check "rejected proposal shown" "rejected $OFFICER2 not staff" "$(text state "$out") $(text decided_by "$out") $(text note "$out")"
api "$MALLORY" http://itaku/v1/whoami
check "a rejected grant registers nobody" 403 "$code"

# A profile import that adds a field waits; one that narrows does not.
AS=$CLERK run contractor add agency-a --name "夢前収納サービス"
ok "contractor for the profiles"
cat > "$work/p1.toml" <<EOF
id = "agency-billing"
contractor = "agency-a"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "account_number"]
transports = ["media"]
valid_from = $(day "-30 days")
valid_until = $(day "+1 year")
retention_days = 60
[output]
format = "csv"
encoding = "utf-8"
EOF
sed 's/"account_number"\]/"account_number", "bank_code"]/' "$work/p1.toml" > "$work/p2.toml"
sed 's/"name", //' "$work/p2.toml" > "$work/p3.toml"
AS=$CLERK run profile import "$work/p1.toml"
k=$(proposal_of "$out")
ok "new profile exit"
contains "new profile is a proposal" "proposed: profile:agency-billing " "$out"
run approval show "$k"
contains "the approver sees where the data would go" \
  "  destination via media: (none) -> a medium handed over, packages encrypted to no package certificate registered" "$out"
run approval approve "$k"
ok "new profile approved"
contains "new profile imported" "imported profile agency-billing version 1 for agency-a" "$out"
AS=$CLERK run profile import "$work/p2.toml"
k=$(proposal_of "$out")
ok "added field exit"
contains "added field is a proposal" "proposed: profile:agency-billing " "$out"
AS=$AUDITOR run approval show "$k"
ok "approval show exit"
contains "approval show lists the added field" "  field bank_code: (none) -> sent" "$out"
AS=$CLERK run profile show agency-billing
contains "not in force before approval" "agency-billing version 1 for agency-a" "$out"
AS=$OFFICER2 run approval approve "$k" --json
check "added field approved" "0 approved 2" "$rc $(text state "$out") $(number version "$out")"
proposals=$(sql "SELECT count(*) FROM proposal")
AS=$CLERK run profile import "$work/p3.toml"
check "narrowing takes effect at once" "0 imported profile agency-billing version 3 for agency-a \
(purpose billing; fields subscriber_id, address, account_number, bank_code)" "$rc $out${err:+ $err}"
AS=$CLERK run profile show agency-billing
contains "profile show: the narrowed version" "agency-billing version 3 for agency-a
purpose: billing
fields: subscriber_id, address, account_number, bank_code" "$out"
check "narrowing made no proposal" "$proposals" "$(sql "SELECT count(*) FROM proposal")"

# The API's own status for a proposal: 202.
api "$OFFICER" -X POST --data-raw '{"path":["request","deadlines"],"args":[["--decide-within",["6"]]]}' \
  http://itaku/v1/commands/request.deadlines.set
check "a proposal answers 202" "202 pending" "$code $(text state "$body")"
d=$(number proposal "$body")

# ---- Concurrency: the same approval twice at once ------------------------
(AS=$OFFICER2 itaku approval approve "$d" >"$work/a1.out" 2>"$work/a1.err"; echo $? >"$work/a1.rc") &
p1=$!
(AS=$OFFICER3 itaku approval approve "$d" >"$work/a2.out" 2>"$work/a2.err"; echo $? >"$work/a2.rc") &
p2=$!
wait "$p1" "$p2"  # not a bare wait: the daemon is a background job too
check "exactly one concurrent approval succeeds" "0 1" "$(cat "$work/a1.rc" "$work/a2.rc" | sort | xargs)"
check "the other is told it is already approved" "itaku: proposal $d is already approved" \
  "$(cat "$work/a1.err" "$work/a2.err" | grep -v '^$')"
check "one proposal.approved" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='proposal.approved' AND subject='proposal:$d'")"
check "deadlines changed once" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='request.deadlines'")"
AS=$AUDITOR run request deadlines
check "deadlines in force" "decide within 6 days of receipt; tell the requester within 14 days of receipt" "$out"

# The same request decided twice at once: one decision.
AS=$CLERK run request add --subscriber S90001 --contractor agency-a --channel phone --text "x" --json
r=$(number id "$out")
(itaku request decide "$r" --justified --reason a >"$work/d1.out" 2>"$work/d1.err"; echo $? >"$work/d1.rc") &
p1=$!
(AS=$OFFICER2 itaku request decide "$r" --not-justified --reason b >"$work/d2.out" 2>"$work/d2.err"; echo $? >"$work/d2.rc") &
p2=$!
wait "$p1" "$p2"
check "exactly one concurrent decision succeeds" "0 1" "$(cat "$work/d1.rc" "$work/d2.rc" | sort | xargs)"
contains "the other is told it is decided" "already decided" "$(cat "$work/d1.err" "$work/d2.err")"
check "one decision on record" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='request.decide' AND subject='request:$r'")"

# ---- Bad requests keep the daemon up -------------------------------------
api "$CLERK" -X POST --data-raw '{"path": ["contractor", "list"' http://itaku/v1/commands/contractor.list
check "malformed JSON" "400 request body is not a JSON object" "$code $(error_of)"
still_serving "malformed JSON"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$work/big.json"
printf '{}' >> "$work/big.json"
api "$CLERK" -X POST -H 'Content-Type: application/json' --data-binary @"$work/big.json" \
  http://itaku/v1/commands/contractor.list
check "2 MB JSON body" "413 request body too large (limit 1048576 bytes)" "$code $(error_of)"
still_serving "a 2 MB body"
api "$CLERK" http://itaku/v1/nothing-here
check "unknown endpoint" "404 no such staff API endpoint: GET /v1/nothing-here" "$code $(error_of)"
api "$CLERK" -X POST --data-raw '{}' http://itaku/v1/commands/contractor.explode
check "unknown command" "404 no staff API command contractor.explode" "$code $(error_of)"
still_serving "unknown endpoints"
for path in /etc/shadow "$work/p1.toml" "upload:../../../../etc/shadow"; do
  api "$CLERK" -X POST --data-raw "{\"path\":[\"profile\",\"import\"],\"args\":[[\"file\",[\"$path\"]]]}" \
    http://itaku/v1/commands/profile.import
  check "plain path $path refused" 400 "$code"
  contains "plain path $path reason" "does not open files by name" "$(error_of)"
done
still_serving "plain paths"
garbage=$(runuser -u "$CLERK" -g root -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"\x00\x01 NOT HTTP AT ALL\r\n\r\n"); s.settimeout(10)
print(s.recv(200).split(b"\r\n")[0].decode())' "$SOCK")
check "not HTTP at all" "HTTP/1.1 400 Bad Request" "$garbage"
still_serving "garbage"

# ---- The store is the daemon's -------------------------------------------
check "store folder: 0700, the service account's" "drwx------ $SVC" "$(stat -c '%A %U' "$(dirname "$ITAKU_DB")")"
contains "ls -ld" "drwx------" "$(ls -ld "$(dirname "$ITAKU_DB")")"
denied=$(runuser -u "$CLERK" -- sqlite3 "$ITAKU_DB" .tables 2>&1); rc=$?
check "staff cannot open the store with sqlite3" 1 "$((rc != 0))"
contains "sqlite3 cannot open it" "unable to open database" "$denied"
denied=$(runuser -u "$OFFICER" -- cat "$ITAKU_DB" 2>&1 >/dev/null)
contains "not even an officer reads the file" "Permission denied" "$denied"

# ---- The CLI's environment does not set the time ------------------------
before=$(date -u +%F)
ITAKU_NOW=2020-01-01T00:00:00Z AS=$CLERK run contractor add agency-now --name N
after=$(date -u +%F)
ok "add with ITAKU_NOW"
at=$(sql "SELECT substr(at, 1, 10) FROM audit_event WHERE action='contractor.add' AND subject='contractor:agency-now'")
check "the audit event is dated today" 1 "$([ "$at" = "$before" ] || [ "$at" = "$after" ] && echo 1)"

# ---- The clock moved back an hour ---------------------------------------
# The daemon's clock runs two hours ahead and something is recorded; then
# it goes back an hour: the next event is not dated earlier, a
# clock.anomaly is on record once, and deliveries wait until the clock is
# right again.
printf 'subscriber_id,name\nS1,x\n' > "$work/tiny.csv"
set_clock "+2 hours"
AS=$CLERK run contractor add agency-clock --name C
ok "event at +2h"
ahead=$(sql "SELECT at FROM audit_event ORDER BY seq DESC LIMIT 1")
set_clock "+1 hour"
AS=$CLERK run deliver --profile no-such-profile --input "$work/tiny.csv" --via media --dry-run
check "delivery refused while the clock is behind" 1 "$rc"
ahead_jst=$(TZ=Asia/Tokyo date -d "$ahead" +%Y-%m-%dT%H:%M:%S+09:00)
contains "clock refusal names the reason" "behind the newest audit event ($ahead_jst); deliveries wait until the clock is right again" "$err"
check "one clock anomaly on record" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='clock.anomaly'")"
AS=$CLERK run deliver --profile no-such-profile --input "$work/tiny.csv" --via media --dry-run
check "still one clock anomaly" 1 "$(sql "SELECT count(*) FROM audit_event WHERE action='clock.anomaly'")"
check "no event dated before its predecessor" 0 "$(sql "SELECT count(*) FROM audit_event a JOIN audit_event b ON b.seq = a.seq + 1 WHERE b.at < a.at")"
set_clock "+2 hours 5 minutes"
AS=$CLERK run deliver --profile no-such-profile --input "$work/tiny.csv" --via media --dry-run
check "the clock right again: refused for the profile only" "1 itaku: unknown profile no-such-profile" "$rc $err"

# ---- The two-person rule: an expired proposal ---------------------------
run request deadlines --notify-within 10
e=$(proposal_of "$out")
contains "deadline change is a proposal" "proposed: requests:deadlines " "$out"
CLOCK="+8 days" AS=$OFFICER2 run approval approve "$e"
check "expired exit" 1 "$rc"
contains "expired reason" "proposal $e expired at " "$err"
AS=$AUDITOR run request deadlines
check "an expired proposal changes nothing" "decide within 6 days of receipt; tell the requester within 14 days of receipt" "$out"
AS=$OFFICER2 run approval approve "$e"
check "expired stays expired" "1 itaku: proposal $e is already expired" "$rc $err"

run audit verify
contains "audit trail intact" "audit trail intact" "$out"
finish staff_api
