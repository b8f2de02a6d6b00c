#!/usr/bin/env bash
# Contract profiles and registry names against hostile input (issue 14,
# findings 5 and 6), through the real daemon and CLI: a profile id belongs
# to its contractor for life (at import and when an approved proposal is
# carried out); profile and contractor ids follow one rule and a refusal
# shows a bad id escaped; subscriber_id is required and unmasked; a TOML
# file over 1 MiB is refused by its size, without the daemon's memory
# growing; turning the formula guard off is a widening under the two-person
# rule; staff and contractor names refuse line breaks, terminal escapes and
# bidirectional controls. Every refusal is on record.
# Usage: profiles_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+1 year")
proposal_of() { echo "$1" | sed -n 's/^proposed: .*itaku approval approve \([0-9]*\)).*/\1/p'; }
refusals() { sql "SELECT count(*) FROM audit_event WHERE action = '$1.refused'"; }
last_reason() {
  sql "SELECT json_extract(details, '\$.reason') FROM audit_event WHERE action = '$1.refused' ORDER BY seq DESC LIMIT 1"
}
# toml_with OUT KEY VALUE: the installation profile with its line "KEY = ..."
# replaced by "KEY = VALUE", byte for byte (VALUE may hold TOML escapes).
toml_with() {
  python3 - "$work/inst.toml" "$@" <<'PY'
import sys
src, out, key, value = sys.argv[1:5]
lines = open(src, encoding="utf-8").read().split("\n")
open(out, "w", encoding="utf-8").write(
    "\n".join(f"{key} = {value}" if l.startswith(key + " = ") else l for l in lines))
PY
}
# big_toml OUT MB: the installation profile followed by an array of MB
# megabytes (what a parser would build nodes for).
big_toml() {
  python3 - "$work/inst.toml" "$1" "$2" <<'PY'
import sys
src, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(out, "w", encoding="utf-8") as f:
    f.write(open(src, encoding="utf-8").read().split("[output]")[0])
    f.write("padding = [" + '"name", ' * (mb * 2**20 // 8) + '"name"]\n')
PY
}
rule="must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit, without \"..\": got"

"$GEN" --rows 20 --seed 3 --drawings "$work/drawings" --out "$work/inst.csv" || exit 1
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add builder-co --name "夢前建設" >/dev/null || exit 1
itaku contractor add agency-a --name "夢前収納サービス" >/dev/null || exit 1
itaku nda add builder-co --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
sign_contract builder-co "$from" "$from" "$until" installation >/dev/null || exit 1
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/; \
s/^contractor = .*/contractor = \"builder-co\"/" \
  "$SRC/ops/examples/builder-installation.toml" > "$work/inst.toml"
approved profile import "$work/inst.toml"
check "installation profile imported for builder-co" \
  "0 imported profile builder-installation version 1 for builder-co" "$rc $(head -1 <<<"$out" | cut -d' ' -f1-7)"

# ---- A profile id belongs to its contractor for life ---------------------
# Regression: version 2 with contractor = "agency-a" made the construction
# firm's profile (and its house drawings) the collection agency's.
toml_with "$work/moved.toml" contractor '"agency-a"'
proposals=$(sql "SELECT count(*) FROM proposal")
before=$(refusals profile.import)
run profile import "$work/moved.toml"
check "moving the id to agency-a is refused" \
  "1 itaku: moved.toml: profile builder-installation belongs to builder-co; a profile id cannot move to agency-a (policy 6)" \
  "$rc $err"
check "no proposal made for it" "$proposals" "$(sql "SELECT count(*) FROM proposal")"
check "the refusal is on record" "$((before + 1)) moved.toml: profile builder-installation belongs to builder-co; a profile id cannot move to agency-a (policy 6)" \
  "$(refusals profile.import) $(last_reason profile.import)"
check "the store holds no version for agency-a" 0 \
  "$(sql "SELECT count(*) FROM profile WHERE id = 'builder-installation' AND contractor_id = 'agency-a'")"
run profile show builder-installation
contains "profile show: still builder-co's" "builder-installation version 1 for builder-co" "$out"
run deliver --profile builder-installation --input "$work/inst.csv" --attachments "$work/drawings" \
  --via media --dry-run --json
check "a delivery under the id still goes to builder-co" "0 builder-co 1" \
  "$rc $(json '["contractor"]' 2>/dev/null) $(json '["profile_version"]' 2>/dev/null)"

# The same holds when an approved proposal is carried out: two proposals for
# one new id, for two contractors; the second approval finds the id taken.
toml_with "$work/shared-a.toml" id '"shared-work"'
sed -i 's/^contractor = .*/contractor = "agency-a"/' "$work/shared-a.toml"
toml_with "$work/shared-b.toml" id '"shared-work"'
run profile import "$work/shared-a.toml"
for_agency=$(proposal_of "$out")
run profile import "$work/shared-b.toml"
for_builder=$(proposal_of "$out")
check "both are proposals" "yes yes" "$([ -n "$for_agency" ] && echo yes) $([ -n "$for_builder" ] && echo yes)"
AS=$OFFICER2 run approval approve "$for_builder"
contains "the builder's is carried out" "imported profile shared-work version 1 for builder-co" "$out"
before=$(refusals profile.import)
AS=$OFFICER2 run approval approve "$for_agency"
check "carrying out the agency's is refused" 1 "$rc"
contains "carrying out the agency's: why" \
  "shared-a.toml: profile shared-work belongs to builder-co; a profile id cannot move to agency-a (policy 6)" "$err"
check "the carried-out refusal is on record, as the proposer's" "$((before + 1)) $OFFICER" \
  "$(refusals profile.import) $(sql "SELECT actor FROM audit_event WHERE action = 'profile.import.refused' ORDER BY seq DESC LIMIT 1")"
check "that proposal still waits; no version for agency-a" "pending 0" \
  "$(sql "SELECT state FROM proposal WHERE id = $for_agency") $(sql "SELECT count(*) FROM profile WHERE contractor_id = 'agency-a'")"

# ---- Profile ids follow the contractor id rule ------------------------------
# Regression: "../x", "a/b", 5,000 characters, a right-to-left override and
# a NUL byte (which left the profile unaddressable) were imported.
before=$(refusals profile.import)
long=$(printf 'a%.0s' $(seq 5000))
forty=${long:0:40}
said=""
bad_id() {  # bad_id FILE TOML_VALUE SHOWN: import refused, the id shown escaped
  toml_with "$work/$1" id "$2"
  run profile import "$work/$1"
  check "bad id ${2:0:50}" "1 itaku: $1: profile refused: profile id $rule $3" "$rc $err"
  said+=$err
}
bad_id dotdot.toml '"../x"' '"../x"'
bad_id slash.toml '"a/b"' '"a/b"'
bad_id long.toml "\"$long\"" "\"$forty…\" (5000 bytes)"
bad_id rlo.toml '"builder\u202Einstallation"' '"builder\u{202E}installation"'
bad_id nul.toml '"a\u0000b"' '"a\x00b"'
bad_id esc.toml '"x\u001b[2Jy"' '"x\x1b[2Jy"'
rlo=$'\xe2\x80\xae'  # U+202E RIGHT-TO-LEFT OVERRIDE, as bytes whatever the locale
check "no raw override or escape reaches the terminal" no \
  "$([[ $said == *"$rlo"* || $said == *$'\e'* ]] && echo yes || echo no)"
check "each bad id refused on record" "$((before + 6))" "$(refusals profile.import)"
check "no profile stored under a bad id" "builder-installation shared-work" \
  "$(sql "SELECT DISTINCT id FROM profile ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
run contractor add ../x --name X
check "contractor id ../x" "1 itaku: contractor id $rule \"../x\"" "$rc $err"
run contractor add "Agency A" --name X
check "contractor id with a space and capitals" "1 itaku: contractor id $rule \"Agency A\"" "$rc $err"

# ---- subscriber_id: required and unmasked (policy 5) -------------------------
toml_with "$work/nosub.toml" fields '["name", "name_kana", "postal_code", "address", "phone", "house_drawing"]'
run profile import "$work/nosub.toml"
check "a profile without subscriber_id" \
  "1 itaku: nosub.toml: profile builder-installation refused: the profile does not send subscriber_id (needed to record who received what, policy 5)" \
  "$rc $err"
{ cat "$work/inst.toml"; printf '[masks]\nsubscriber_id = "last4"\n'; } > "$work/masked.toml"
run profile import "$work/masked.toml"
check "a profile with subscriber_id masked" \
  "1 itaku: masked.toml: profile builder-installation refused: subscriber_id must be sent unmasked, not with mask last4 (needed to record who received what, policy 5)" \
  "$rc $err"

# ---- TOML over 1 MiB: refused by its size --------------------------------------
big_toml "$work/big.toml" 2
t0=$(date +%s%N)
run profile import "$work/big.toml"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a 2 MB profile" "1 itaku: big.toml: larger than 1 MiB; a profile is a few kilobytes" "$rc $err"
check "refused quickly (${ms} ms)" yes "$([ "$ms" -lt 5000 ] && echo yes)"
check "the size refusal is on record" "big.toml: larger than 1 MiB; a profile is a few kilobytes" \
  "$(last_reason profile.import)"
# Regression: a 200 MB TOML took 630 MB of memory before it was refused.
# The daemon's peak resident memory does not grow by a 64 MB one.
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$daemon_pid/status"; }
peak=$(hwm)
big_toml "$work/huge.toml" 64
run profile import "$work/huge.toml"
grown=$(( ($(hwm) - peak) / 1024 ))
check "a 64 MB profile" "1 itaku: huge.toml: larger than 1 MiB; a profile is a few kilobytes" "$rc $err"
check "the daemon's peak memory grew by less than 50 MB (${grown} MB)" yes \
  "$([ "$grown" -lt 50 ] && echo yes)"
rm -f "$work/huge.toml"

# ---- Turning the formula guard off widens the profile ----------------------------
python3 - "$work/inst.toml" "$work/raw.toml" <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(text.replace("[output]\n", "[output]\nformula_guard = false\n"))
PY
run profile import "$work/raw.toml"
k=$(proposal_of "$out")
check "formula_guard = false is a proposal" "0 yes" "$rc $([ -n "$k" ] && echo yes)"
contains "it names the profile" "proposed: profile:builder-installation " "$out"
AS=$OFFICER2 run approval show "$k"
contains "the approver sees the guard turned off" "  formula_guard: on -> off" "$out"
run profile show builder-installation
contains "not in force before approval" "formula guard: on (cells a spreadsheet would evaluate are neutralised)" "$out"
AS=$OFFICER2 run approval approve "$k"
contains "approved: version 2, guard off" \
  "imported profile builder-installation version 2 for builder-co (purpose installation; fields subscriber_id, name, name_kana, postal_code, address, phone, house_drawing; formula guard off)" "$out"
run profile show builder-installation
contains "profile show: guard off" "formula guard: off (cells are sent as they are)" "$out"
run profile show builder-installation --version 1
contains "history: version 1 kept its guard" "formula guard: on (cells a spreadsheet would evaluate are neutralised)" "$out"
proposals=$(sql "SELECT count(*) FROM proposal")
run profile import "$work/inst.toml"
check "turning it on again narrows: at once" "0 imported profile builder-installation version 3 for builder-co" \
  "$rc $(cut -d' ' -f1-7 <<<"$out")"
check "no proposal for turning it on" "$proposals" "$(sql "SELECT count(*) FROM proposal")"
{ cat "$work/inst.toml"; printf 'formula_guard = "no"\n'; } > "$work/guard-word.toml"
run profile import "$work/guard-word.toml"
check "formula_guard takes true or false" "1 itaku: guard-word.toml: 'output.formula_guard' must be true or false" "$rc $err"

# ---- Staff and contractor names refuse control characters ------------------------
# Regression: names with a newline or a terminal escape were stored and
# printed as given.
control="must not hold control characters (line breaks, terminal escapes) or bidirectional controls: got"
staff=$(sql "SELECT count(*) FROM staff")
before=$(refusals staff.add)
run staff add $'bad\nname' --os-user "$CLERK" --role operator
check "staff name with a newline" "1 itaku: staff name $control \"bad\\nname\"" "$rc $err"
run staff add $'x\e[31mred' --os-user "$CLERK" --role operator
check "staff name with an escape" "1 itaku: staff name $control \"x\\x1b[31mred\"" "$rc $err"
run staff add "abc${rlo}def" --os-user "$CLERK" --role operator
check "staff name with a right-to-left override" "1 itaku: staff name $control \"abc\\u{202E}def\"" "$rc $err"
check "no staff added; refusals on record, escaped" "$staff $((before + 3)) staff name $control \"abc\\u{202E}def\"" \
  "$(sql "SELECT count(*) FROM staff") $(refusals staff.add) $(last_reason staff.add)"
run contractor add agency-n --name $'夢前\n収納'
check "contractor name with a newline" "1 itaku: name of contractor agency-n $control \"夢前\\n収納\"" "$rc $err"
run contractor add agency-n --name N --email $'a@n.example\r\nBcc: x@y.invalid'
check "contractor e-mail with a line break" \
  "1 itaku: e-mail of contractor agency-n $control \"a@n.example\\r\\nBcc: x@y.invalid\"" "$rc $err"
run contractor update agency-a --name $'A\e]0;pwned\a'
check "contractor update with an escape" "1 itaku: name of contractor agency-a $control \"A\\x1b]0;pwned\\x07\"" "$rc $err"
check "nothing stored" "0 夢前収納サービス" \
  "$(sql "SELECT count(*) FROM contractor WHERE id = 'agency-n'") $(sql "SELECT name FROM contractor WHERE id = 'agency-a'")"
run contractor update agency-a --name "夢前収納サービス 株式会社"
check "a printable name is fine" 0 "$rc"

run audit verify
check "audit trail intact" 0 "$rc"
finish "profiles e2e"
