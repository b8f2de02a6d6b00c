#!/usr/bin/env bash
# House drawings (issue 14, finding 3) through the real itaku binary: a
# drawing that is a symbolic link (to the store itself, or to a file the
# staff member can read) is refused, not packed; a 5 GiB drawing is refused
# at once from its size; the daemon's [attachments] limits per file and per
# delivery hold; the dry run judges drawings exactly as the real run does;
# nothing partial is left; a valid package holds no byte of the store and
# says whether the formula guard was on.
# Usage: attachments_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")

# The daemon reads [attachments] from its config file at each delivery.
: > "$work/itaku.toml"
limits() { { echo "[attachments]"; printf '%s\n' "$@"; } > "$work/itaku.toml"; }  # limits "KEY = N"...
stop_daemon
start_daemon --config "$work/itaku.toml" || exit 1

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/builder.key" -out "$work/builder.crt" \
  -days 365 -subj "/CN=builder/O=Itaku test" 2>/dev/null
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add builder-b --name "夢前工務店" --cert "$work/builder.crt" >/dev/null
itaku nda add builder-b --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/builder-installation.toml" > "$work/inst.toml"
approved profile import "$work/inst.toml"
check "import builder-installation" 0 "$rc"

# orders NAME DRAWING: an export of three work orders; S00012's drawing is DRAWING.
orders() {
  printf '%s\n' \
    "subscriber_id,name,name_kana,postal_code,address,phone,house_drawing" \
    "S00011,山田太郎,ヤマダタロウ,670-0011,=SUM(1+1),0792000011,S00011.pdf" \
    "S00012,佐藤花子,サトウハナコ,670-0012,兵庫県姫路市2-2,0792000012,$2" \
    "S00013,鈴木一郎,スズキイチロウ,670-0013,兵庫県姫路市3-3,0792000013," > "$work/$1.csv"
}
# drawings DIR: a folder with S00011's and S00012's drawings.
drawings() {
  mkdir -p "$work/$1"
  printf '%%PDF-1.4 ITAKU-DRAWING-S00011\n' > "$work/$1/S00011.pdf"
  printf '%%PDF-1.4 ITAKU-DRAWING-S00012\n' > "$work/$1/S00012.pdf"
}
deliver() {  # deliver EXPORT FOLDER [ARGS...]: to builder-b on the medium $work/usb
  local export=$1 folder=$2
  shift 2
  run deliver --profile builder-installation --input "$work/$export.csv" \
    --attachments "$work/$folder" --via media --out "$work/usb" "$@"
}
# alike NAME EXPORT FOLDER: the dry run and the real run fail with one
# message ($err), and nothing is left of a package anywhere.
alike() {
  local name=$1
  shift
  deliver "$@" --dry-run
  local dry_rc=$rc dry_err=$err
  deliver "$@"
  check "$name: dry run refused" 1 "$dry_rc"
  check "$name: real run refused" 1 "$rc"
  check "$name: the dry run says what the real run says" "$err" "$dry_err"
  check "$name: nothing on the medium" "" "$(ls -A "$work/usb")"
  check "$name: nothing partial in the daemon's folders" "" \
    "$(find "$ITAKU_DB.d" \( -name '*.p7m*' -o -name '*partial*' \) 2>/dev/null)"
}
mkdir -p "$work/usb"
failed_reason() { sql "SELECT reason FROM delivery WHERE outcome = 'failed' ORDER BY id DESC LIMIT 1"; }

# A valid delivery: the drawings of the delivered rows, no byte of the
# store, and the formula guard on record.
orders good S00012.pdf
drawings good
deliver good good --json
check "valid delivery" 0 "$rc"
pkg=$(json '["package"]')
mkdir -p "$work/open"
openssl cms -decrypt -binary -inform DER -in "$pkg" -recip "$work/builder.crt" \
  -inkey "$work/builder.key" -out "$work/open/p.zip" 2>/dev/null &&
  unzip -q -o "$work/open/p.zip" -d "$work/open/files"
check "valid package opens with openssl+unzip" 0 $?
check "valid package entries" "data.csv drawings/S00011.pdf drawings/S00012.pdf manifest.json" \
  "$(cd "$work/open/files" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')"
check "no byte of the store in the package" 0 \
  "$(grep -rlaF 'SQLite format 3' "$work/open/files" | wc -l)"
check "manifest: formula guard on, one cell neutralised" "True 1" \
  "$(py "import json; m=json.load(open('$work/open/files/manifest.json')); print(m['formula_guard'], m['formula_guarded_cells'])")"
check "the formula went out as text" 1 "$(grep -c "'=SUM(1+1)" "$work/open/files/data.csv")"
rm -f "$pkg"

# Issue 14, finding 3: a link named db.pdf to the store's 0600 file.
orders linked db.pdf
drawings store-link
ln -s "$ITAKU_DB" "$work/store-link/db.pdf"
alike "link to the store" linked store-link
contains "link to the store: why" "db.pdf is not a regular file (symlinks are not followed)" "$err"
# ...and to a file the staff member can read: before, it was packed.
printf 'CANARY-LINKED-FILE\n' > "$work/canary.txt"
drawings readable-link
ln -s "$work/canary.txt" "$work/readable-link/db.pdf"
alike "link to a readable file" linked readable-link
contains "link to a readable file: why" "db.pdf is not a regular file (symlinks are not followed)" "$err"

# A 5 GiB drawing (sparse: no disk) is refused from its size, at once.
orders huge S00012.pdf
drawings huge
truncate -s 5G "$work/huge/S00012.pdf"
started=$(date +%s%N)
run_huge() { out=$(timeout 8 runuser -u "$AS" -g root -- "$ITAKU" --socket "$SOCK" deliver \
  --profile builder-installation --input "$work/huge.csv" --attachments "$work/huge" --via media \
  --out "$work/usb" "$@" 2>"$work/err"); rc=$?; err=$(cat "$work/err"); }
run_huge
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
check "5 GiB drawing refused" 1 "$rc"
check "5 GiB drawing refused in under 5 s" 1 "$(( elapsed_ms < 5000 ))"
contains "5 GiB drawing: why" "S00012.pdf is 5120 MiB, over the 50 MiB limit per file ([attachments] max_file_mb)" "$err"
real_err=$err
run_huge --dry-run
check "5 GiB drawing: the dry run says what the real run says" "$real_err" "$err"
check "5 GiB drawing: nothing on the medium" "" "$(ls -A "$work/usb")"

# The daemon's limit per file, lowered in its config file.
limits "max_file_mb = 1"
orders two-mib S00012.pdf
drawings two-mib
head -c $((2 << 20)) /dev/zero | tr '\0' 'x' > "$work/two-mib/S00012.pdf"
alike "[attachments] max_file_mb = 1" two-mib two-mib
contains "max_file_mb: why" "S00012.pdf is 2 MiB, over the 1 MiB limit per file ([attachments] max_file_mb)" "$err"

# The limit per delivery counts every drawing the delivery carries.
limits "max_file_mb = 1" "max_delivery_mb = 1"
orders pair S00012.pdf
drawings pair
head -c $((600 << 10)) /dev/zero | tr '\0' 'a' > "$work/pair/S00011.pdf"
head -c $((600 << 10)) /dev/zero | tr '\0' 'b' > "$work/pair/S00012.pdf"
alike "[attachments] max_delivery_mb = 1" pair pair
why="subscriber S00012: house drawing brings the drawings of this delivery to 2 MiB, over the 1 MiB limit per delivery ([attachments] max_delivery_mb)"
check "max_delivery_mb: why" "itaku: $why" "$err"
check "max_delivery_mb: the failure is on record" "$why" "$(failed_reason)"
limits "max_delivery_mb = 2"
deliver pair pair
check "within max_delivery_mb = 2" 0 "$rc"
rm -f "$work/usb"/*
limits "max_file_mb = 0"
alike "[attachments] max_file_mb = 0" good good
contains "max_file_mb = 0: why" "[attachments] max_file_mb must be 1 to 1048576 (MiB)" "$err"
: > "$work/itaku.toml"

# The dry run said "allowed" without --attachments, or with a misspelt
# folder, where the real run refused.
alike "misspelt --attachments" good drawngs
contains "misspelt --attachments: why" "$work/drawngs" "$err"
run deliver --profile builder-installation --input "$work/good.csv" --via media --out "$work/usb" \
  --dry-run
dry_rc=$rc dry_err=$err
run deliver --profile builder-installation --input "$work/good.csv" --via media --out "$work/usb"
check "no --attachments: dry run refused" 1 "$dry_rc"
check "no --attachments: real run refused" 1 "$rc"
check "no --attachments: why" \
  "itaku: profile builder-installation sends house drawings: --attachments must name their folder" \
  "$err"
check "no --attachments: the dry run says what the real run says" "$err" "$dry_err"

# A drawing the folder does not have: named by the daemon, alike.
orders missing S00019.pdf
alike "missing drawing" missing good
contains "missing drawing: why" "subscriber S00012: house drawing is not in $work/good" "$err"

run audit verify
check "audit intact" 0 "$rc"
finish "attachments e2e"
