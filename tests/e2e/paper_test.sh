#!/usr/bin/env bash
# Paper deliveries (policy 6(2) 紙, issue 15) through the real itaku binary,
# read back with poppler-utils and qpdf: a CP932 export's allowed values
# printed exactly (髙, 﨑, ①, ～ and half-width kana included), masks
# applied, formulas printed as they are; no withheld value (canaries) in the
# text, the decompressed PDF or its raw bytes; every font embedded; the page
# count of cover + ⌈records / 20⌉ + drawing pages + closing page; drawings of
# exactly the delivered records (PDF pages appended, PNG and JPEG placed);
# the cover rendered to PNG in the build folder. Refusals and failures leave
# no PDF anywhere and are audited; the sheets are tracked like media until
# they come back.
# Usage: paper_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")
for tool in pdftotext pdffonts pdfinfo pdftoppm qpdf iconv; do
  command -v $tool >/dev/null || { echo "$tool is missing (ops/setup installs poppler-utils, qpdf)" >&2; exit 1; }
done
paper_dir="$ITAKU_DB.d/paper"  # the daemon's copies until handover (StoreLayout::Paper)
# The cover, rendered for a person to look at: beside the build's gateway/
# folder, i.e. build/<preset>/paper-cover.png.
cover_png="$(cd "$(dirname "$ITAKU")/.." && pwd)/paper-cover"
# squeeze: stdin without whitespace (a wrapped cell, a spaced-out title, U+3000).
squeeze() { py 'import sys; print("".join(sys.stdin.read().split()))'; }
page_text() { pdftotext -f "$2" -l "$2" "$1" - 2>/dev/null | squeeze; }  # page_text PDF N
pages_of() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ {print $2}'; }
audits() { sql "SELECT count(*) FROM audit_event WHERE action = '$1'"; }
# ids_in: every "delivery_id" anywhere in the JSON on stdin, space-separated.
ids_in() {
  py '
import json, sys
def walk(j):
    if isinstance(j, dict):
        if "delivery_id" in j: yield j["delivery_id"]
        for v in j.values(): yield from walk(v)
    elif isinstance(j, list):
        for v in j: yield from walk(v)
print(" ".join(str(i) for i in walk(json.load(sys.stdin))))'
}
has_id() { [[ " $1 " == *" $2 "* ]] && echo yes || echo no; }  # has_id LIST ID
paper_files() { find "$paper_dir" -mindepth 1 2>/dev/null | sort; }

printf 'nda\n' > "$work/nda.pdf"
# Paper needs no certificate: the construction firm has none.
itaku contractor add builder-b --name "夢前工務店" >/dev/null || exit 1
itaku nda add builder-b --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory "担当 者" >/dev/null || exit 1
# Its outsourcing contract for installation, dated as the NDA but running on
# past it: the NDA's end, tested last, stays the one reason.
sign_contract builder-b "$from" "$from" "$(day "$until + 1 year")" installation >/dev/null || exit 1
# The example installation profile (subscriber_id, name, name_kana,
# postal_code, address, phone, house_drawing), allowed on paper, with the
# phone number masked to its last four digits so that the sheets show a mask.
python3 - "$SRC/ops/examples/builder-installation.toml" "$work/inst.toml" "$from" "$until" <<'PY'
import re, sys
src, out, start, end = sys.argv[1:]
t = open(src, encoding="utf-8").read()
t = re.sub(r"(?m)^valid_from = .*$", f"valid_from = {start}", t)
t = re.sub(r"(?m)^valid_until = .*$", f"valid_until = {end}", t)
t = re.sub(r"(?m)^transports = .*$", 'transports = ["media", "portal", "paper"]', t)
if re.search(r"(?m)^\[masks\]", t):
    t = re.sub(r"(?m)^phone = .*\n", "", t)
    t = re.sub(r"(?m)^\[masks\]\n", '[masks]\nphone = "last4"\n', t)
else:
    t = t.rstrip("\n") + '\n[masks]\nphone = "last4"\n'
open(out, "w", encoding="utf-8").write(t)
PY
approved profile import "$work/inst.toml"
check "import builder-installation (paper, phone last4)" 0 "$rc"

# ---- The export: 46 work orders in CP932 ---------------------------------
# Allowed fields hold the characters CP932 and fonts get wrong; every field
# the profile withholds holds a canary. S00000046 is left out by a special
# request: its drawing must not be printed.
python3 - "$work/orders.utf8.csv" "$work/expected.json" <<'PY'
import csv, json, sys
out, expected = sys.argv[1:]
fields = ["subscriber_id", "name", "name_kana", "postal_code", "address", "phone", "email",
          "birth_date", "gender", "occupation", "bank_code", "branch_code", "account_type",
          "account_number", "account_holder", "services", "house_drawing"]
sent = ["subscriber_id", "name", "name_kana", "postal_code", "address", "phone", "house_drawing"]
special = {
    1: {"name": "髙橋　一郎", "name_kana": "ﾀｶﾊｼ ｲﾁﾛｳ",
        "address": "兵庫県姫路市夢前町①丁目2番3号 ﾊｲﾂｱｲｳ101号室", "phone": "0792345678"},
    2: {"name": "山﨑　花子", "address": "兵庫県姫路市本町68番地～70番地"},
    3: {"name": "髙﨑　①～ｱｲｳ"},
    5: {"address": "=SUM(1+1)"},
}
drawings = {1: "S00000001.pdf", 2: "S00000002.pdf", 3: "S00000003.png", 4: "S00000004.jpg",
            46: "S00000046.pdf"}
rows, delivered = [], []
for i in range(1, 47):
    sid = f"S{i:08d}"
    r = {f: f"CANARY-{f.upper()}-{sid}" for f in fields}
    r.update(subscriber_id=sid, name=f"山田　太郎{i}", name_kana="ヤマダ　タロウ",
             postal_code=f"671-{2100 + i}", address=f"兵庫県姫路市夢前町前之庄{i}番地",
             phone=f"07933{i:05d}", house_drawing=drawings.get(i, ""))
    r.update(special.get(i, {}))
    rows.append([r[f] for f in fields])
    if i != 46:
        # As printed: the phone under last4 (10 digits: six stars, the last four).
        shown = dict(r, phone="*" * (len(r["phone"]) - 4) + r["phone"][-4:])
        delivered.append({f: shown[f] for f in sent})
with open(out, "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(fields)
    w.writerows(rows)
json.dump(delivered, open(expected, "w", encoding="utf-8"), ensure_ascii=False)
PY
iconv -f UTF-8 -t CP932 "$work/orders.utf8.csv" > "$work/orders.csv"
check "the export is CP932 (髙 is FB FC, ～ 81 60)" "True" "$(python3 - "$work" <<'PY'
import sys
raw = open(sys.argv[1] + "/orders.csv", "rb").read()
utf8 = open(sys.argv[1] + "/orders.utf8.csv", encoding="utf-8", newline="").read()
print(raw.decode("cp932") == utf8 and b"\xfb\xfc" in raw and b"\x81\x60" in raw)
PY
)"

# Drawings: itaku-gen's one-page PDFs (their content stream holds
# "% ITAKU-DRAWING-<id>"), named as the export's rows name them.
"$GEN" --rows 50 --seed 1 --drawing-every 1 --drawings "$work/gen" --out /dev/null || exit 1
mkdir -p "$work/drawings" "$work/out"
cp "$work/gen/S00000001.pdf" "$work/drawings/"
qpdf --empty --pages "$work/gen/S00000002.pdf" 1,1 -- "$work/drawings/S00000002.pdf"  # two pages
pdftoppm -png -r 30 -singlefile "$work/gen/S00000003.pdf" "$work/drawings/S00000003"
pdftoppm -jpeg -r 30 -singlefile "$work/gen/S00000004.pdf" "$work/drawings/S00000004"
cp "$work/gen/S00000046.pdf" "$work/drawings/"  # the excluded row's
cp "$work/gen/S00000047.pdf" "$work/drawings/"  # a stray file no row names
magic() { head -c 4 "$1" | od -An -tx1 | tr -d ' \n'; }
check "drawings made: 2 + 1 pages of PDF, a PNG, a JPEG" "2 1 89504e47 ffd8ffe0" \
  "$(pages_of "$work/drawings/S00000002.pdf") $(pages_of "$work/drawings/S00000001.pdf") \
$(magic "$work/drawings/S00000003.png") $(magic "$work/drawings/S00000004.jpg")"
AS=$CLERK run special add --subscriber S00000046 --contractor builder-b --exclude
check "S00000046 excluded for builder-b" 0 "$rc"

# ---- The delivery ---------------------------------------------------------
run deliver --profile builder-installation --input "$work/orders.csv" --input-encoding cp932 \
  --attachments "$work/drawings" --via paper --out "$work/out" --json
check "paper delivery" 0 "$rc"
[ "$rc" -eq 0 ] || { echo "$err"; finish "paper e2e"; exit 1; }
id=$(json '["delivery_id"]')
pdf=$(json '["package"]')
sha=$(json '["package_sha256"]')
check "PDF name" "$work/out/builder-b-$id.pdf" "$pdf"
check "PDF hash as recorded" "$(sha256sum "$pdf" | cut -d' ' -f1) $sha" \
  "$sha $(sql "SELECT package_sha256 FROM delivery WHERE id = $id")"
check "records: 45 (S00000046 excluded)" 45 "$(json '["records"]')"
check "the PDF starts as a PDF" "%PDF-" "$(head -c 5 "$pdf")"
qpdf --check "$pdf" >/dev/null 2>&1
check "qpdf --check: no errors or warnings" 0 $?
# Cover + ⌈45 / 20⌉ + drawings (1 + 2 + PNG 1 + JPEG 1) + closing page.
pages=$((1 + 3 + 5 + 1))
check "pdfinfo pages = 1 + 3 + 5 + 1" "$pages" "$(pages_of "$pdf")"
check "--json pages" "$pages" "$(json '["pages"]')"
# The slip's SHA-256 of the printed rows stays on record with the delivery,
# so that a signed slip can be matched after the PDF is gone.
printed=$(json '["printed_rows_sha256"]')
check "printed rows' hash: 64 hex digits" 1 "$([[ "$printed" =~ ^[0-9a-f]{64}$ ]] && echo 1)"
contains "the cover shows it" "${printed:0:32}" "$(page_text "$pdf" 1)"
check "the delivery.paper event keeps it" 1 \
  "$(sql "SELECT count(*) FROM audit_event WHERE action = 'delivery.paper' AND json_extract(details, '$.printed_rows_sha256') = '$printed'")"
check "pages: A4" 1 "$(pdfinfo "$pdf" | grep -c '^Page size:.*(A4)')"
check "the daemon keeps its copy, 0600, the same bytes" "600 $sha" \
  "$(stat -c %a "$paper_dir/builder-b-$id.pdf" 2>&1) $(sha256sum "$paper_dir/builder-b-$id.pdf" 2>&1 | cut -d' ' -f1)"

pdftotext "$pdf" "$work/text.txt"
pdftotext -raw "$pdf" "$work/raw.txt"
qpdf --qdf --object-streams=disable "$pdf" "$work/open.qdf"
check "qpdf decompresses it" 1 "$(( $(stat -c %s "$work/open.qdf" 2>/dev/null || echo 0) > 0 ))"
# Every allowed value of every delivered record, exactly (whitespace aside).
check "every delivered value printed" "" "$(python3 - "$work/expected.json" "$work/text.txt" "$work/raw.txt" <<'PY'
import json, sys
squeeze = lambda s: "".join(s.split())
texts = [squeeze(open(p, encoding="utf-8").read()) for p in sys.argv[2:]]
for rec in json.load(open(sys.argv[1], encoding="utf-8")):
    for field, value in rec.items():
        if value and not any(squeeze(value) in t for t in texts):
            print(f"{rec['subscriber_id']} {field}", end="; ")
PY
)"
text=$(squeeze < "$work/text.txt")
for v in 髙橋一郎 山﨑花子 髙﨑①～ｱｲｳ ﾀｶﾊｼｲﾁﾛｳ 夢前町①丁目2番3号ﾊｲﾂｱｲｳ101号室 68番地～70番地; do
  contains "printed exactly: $v" "$v" "$text"
done
check "～ is U+FF5E, not the wave dash U+301C" 0 "$(grep -c $'\xe3\x80\x9c' "$work/text.txt")"
contains "phone masked (last4)" "******5678" "$text"
check "the unmasked phone appears nowhere" "0 0 0" \
  "$(grep -c 0792345678 <<<"$text") $(grep -ac 0792345678 "$work/open.qdf") $(grep -ac 0792345678 "$pdf")"
contains "a formula prints as it is" "=SUM(1+1)" "$text"
check "no formula guard on paper" 0 "$(grep -c "'=SUM" "$work/text.txt")"
check "no canary in the text" 0 "$(grep -c 'CANARY-' "$work/text.txt")"
check "no canary in the decompressed PDF" 0 "$(grep -ac 'CANARY-' "$work/open.qdf")"
check "no canary in the raw PDF" 0 "$(grep -ac 'CANARY-' "$pdf")"
check "the excluded subscriber is printed nowhere" 0 "$(grep -c S00000046 <<<"$text")"
withheld_labels=$(for l in 電子メールアドレス 生年月日 性別 職業 金融機関コード 支店コード 預金種目 口座番号 口座名義 サービス内容; do
  [[ "$text" == *"$l"* ]] && printf '%s ' "$l"; done)
check "no withheld field's label" "" "$withheld_labels"

# Fonts: Japanese text needs fonts; every one embedded (as a subset).
pdffonts "$pdf" > "$work/fonts.txt" 2>&1
fonts=$(tail -n +3 "$work/fonts.txt" | wc -l)
check "fonts listed" 1 "$(( fonts > 0 ))"
check "every font embedded" "" "$(tail -n +3 "$work/fonts.txt" | awk '$(NF-4) != "yes" {print $1}')"
check "every font a subset" "" "$(tail -n +3 "$work/fonts.txt" | awk '$(NF-3) != "yes" {print $1}')"

# The pages in order, each with the running head's "n / N".
feet=""
for n in $(seq 1 "$pages"); do
  [[ "$(page_text "$pdf" "$n")" == *"$n/$pages"* ]] || feet+="$n "
done
check "every page says n / $pages" "" "$feet"
cover=$(page_text "$pdf" 1)
contains "cover: 個人データ授受管理票" "個人データ授受管理票" "$cover"
contains "cover: the contractor" "builder-b" "$cover"
operator_name=$(sed -n 's/^operator_name = "\(.*\)"$/\1/p' "$work/operator.toml")  # lib.sh's
contains "cover: the operator (委託元)" "${operator_name:-(none in operator.toml)}" "$cover"
ordered=$(sql "SELECT ordered_at FROM delivery WHERE id = $id")
return_by=$(day "$(day "$ordered") + 30 days")  # retention_days = 30
check "cover: delivery id, 件数, pages, return-by date" "ok" "$(COVER=$cover ID=$id PAGES=$pages \
  RETURN_BY=$return_by py '
import os, re
c, i, p = os.environ["COVER"], os.environ["ID"], os.environ["PAGES"]
y, m, d = (int(x) for x in os.environ["RETURN_BY"].split("-"))
missing = []
if not re.search(rf"授受番号\D{{0,3}}{i}(?!\d)", c): missing.append("授受番号 " + i)
if not re.search(r"件数\D{0,12}45(?!\d)", c): missing.append("件数 45")
if not re.search(rf"(ページ数|頁数|枚数)\D{{0,12}}{p}(?!\d)|(?<!\d){p}(ページ|頁|枚)", c):
    missing.append(p + " pages")
if not any(f in c for f in (f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日", f"{y}-{m:02d}-{d:02d}")):
    missing.append(f"return by {y}-{m}-{d}")
print("; ".join(missing) or "ok")')"
labels=(加入者番号 氏名 フリガナ 郵便番号 住所 電話番号 住宅の図面)
for n in 2 3 4; do
  t=$(page_text "$pdf" "$n")
  missing=""
  for l in "${labels[@]}"; do [[ "$t" == *"$l"* ]] || missing+="$l "; done
  check "page $n: the table's header is the profile's fields" "" "$missing"
done
ids_on() { page_text "$pdf" "$1" | grep -o 'S000000[0-9][0-9]' | sort -u | wc -l; }
check "20 records per page: 20, 20, 5" "20 20 5" "$(ids_on 2) $(ids_on 3) $(ids_on 4)"
check "drawing pages in record order" "S00000001 S00000002 S00000002 S00000003 S00000004" \
  "$(for n in 5 6 7 8 9; do page_text "$pdf" "$n" | grep -o 'S0000000[1-4]' | sort -u | tr '\n' ' '; done | sed 's/ $//')"
contains "last page: 返却・廃棄確認書" "返却・廃棄確認書" "$(page_text "$pdf" "$pages")"
# The PDF drawings' own content streams, appended (the markers survive qpdf).
check "delivered PDF drawings appended" "yes yes" \
  "$(grep -aq 'ITAKU-DRAWING-S00000001' "$work/open.qdf" && echo yes || echo no) \
$(grep -aq 'ITAKU-DRAWING-S00000002' "$work/open.qdf" && echo yes || echo no)"
check "no drawing of a record not delivered" "0 0" \
  "$(grep -ac 'ITAKU-DRAWING-S00000046' "$work/open.qdf") $(grep -ac 'ITAKU-DRAWING-S00000047' "$work/open.qdf")"
check "only delivered drawings (no other marker)" "" \
  "$(grep -ao 'ITAKU-DRAWING-S[0-9]*' "$work/open.qdf" | sort -u | grep -v -e S00000001 -e S00000002)"

# The cover as a picture, in the build folder (look at it).
rm -f "$cover_png.png"
pdftoppm -png -r 60 -f 1 -l 1 -singlefile "$pdf" "$cover_png"
check "cover rendered to $cover_png.png" 1 "$(( $(stat -c %s "$cover_png.png" 2>/dev/null || echo 0) > 1000 ))"
pdftoppm -gray -r 60 -f 1 -l 1 -singlefile "$pdf" "$work/cover"
check "the cover is portrait and not blank" "ok" "$(python3 - "$work/cover.pgm" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
parts = data.split(maxsplit=4)  # P5 width height maxval pixels
w, h = int(parts[1]), int(parts[2])
pixels = parts[4][-w * h:]
dark = sum(1 for b in pixels if b < 128)
print("ok" if h > w and dark > w * h // 200 else f"{w}x{h}, {dark} dark pixels")
PY
)"

# ---- The same in words, and the record of it ------------------------------
run delivery show "$id"
contains "delivery show: transport paper" "transport: paper" "$out"
contains "delivery show: the PDF's hash" "package sha256: $sha" "$out"
check "history: S00000001 received it on paper" "paper" \
  "$(itaku history --subscriber S00000001 --json | ID=$id py 'import json,os,sys; print(" ".join(r["transport"] for r in json.load(sys.stdin)["receipts"] if r["delivery_id"] == int(os.environ["ID"])))')"
check "history: S00000046 did not" 0 \
  "$(itaku history --subscriber S00000046 --json | py 'import json,sys; print(len(json.load(sys.stdin)["receipts"]))')"
check "audited delivery.paper" 1 "$(audits delivery.paper)"

# A second delivery, in text: three orders, no drawing, three pages.
head -n 4 "$work/orders.utf8.csv" | sed 's/,S0000000[1-3]\.[a-z]*\r$/,\r/' > "$work/three.csv"
mkdir -p "$work/out2"
run deliver --profile builder-installation --input "$work/three.csv" \
  --attachments "$work/drawings" --via paper --out "$work/out2"
check "second delivery" 0 "$rc"
id2=$(sql "SELECT max(id) FROM delivery")
pdf2="$work/out2/builder-b-$id2.pdf"
check "deliver says where the PDF is and its pages" \
  "delivery $id2: printable PDF written $pdf2 (3 pages)" "$(head -n 1 <<<"$out")"
check "deliver gives the PDF's hash" "package sha256: $(sha256sum "$pdf2" 2>&1 | cut -d' ' -f1)" \
  "$(grep '^package sha256: ' <<<"$out")"
check "three orders: cover, one table page, closing page" 3 "$(pages_of "$pdf2")"

# ---- Failures leave nothing -----------------------------------------------
# A drawing that is not a PDF, PNG or JPEG, and one that only starts like a
# PDF (what itaku-gen wrote before): the delivery fails, names the record.
printf '%s\r\n' "subscriber_id,name,name_kana,postal_code,address,phone,house_drawing" \
  "S00000005,穴水　一,アナミズ　ハジメ,927-0001,石川県穴水町1番地,0768000005,S00000005.pdf" \
  "S00000006,穴水　二,アナミズ　ジ,927-0002,石川県穴水町2番地,0768000006," > "$work/bad.csv"
mkdir -p "$work/bad-text" "$work/bad-fake" "$work/bad-out"
printf 'a scanned floor plan, honestly\n' > "$work/bad-text/S00000005.pdf"
printf '%%PDF-1.4\n%% synthetic house drawing ITAKU-DRAWING-S00000005\n%%%%EOF\n' \
  > "$work/bad-fake/S00000005.pdf"
for bad in text fake; do
  failed_before=$(audits delivery.failed) kept=$(paper_files)
  run deliver --profile builder-installation --input "$work/bad.csv" \
    --attachments "$work/bad-$bad" --via paper --out "$work/bad-out"
  check "$bad drawing: the delivery fails" 1 "$rc"
  check "$bad drawing: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
  contains "$bad drawing: names the subscriber" "subscriber S00000005" "$err"
  check "$bad drawing: no cell in the error" "" \
    "$(for s in 穴水 アナミズ 石川県 0768000005 honestly; do [[ "$err" == *"$s"* ]] && printf '%s ' "$s"; done)"
  check "$bad drawing: nothing in --out" "" "$(ls -A "$work/bad-out")"
  check "$bad drawing: nothing new in the daemon's paper folder" "$kept" "$(paper_files)"
  check "$bad drawing: delivery.failed audited" $((failed_before + 1)) "$(audits delivery.failed)"
done
contains "text drawing: why" "is not a PDF, PNG or JPEG file" "$(sql "SELECT reason FROM delivery WHERE outcome = 'failed' ORDER BY id DESC LIMIT 1 OFFSET 1")"

# ---- The sheets' life: handed over, returned or shredded -------------------
run media list --outstanding --json
check "media list --outstanding shows both paper deliveries" "yes yes" \
  "$(has_id "$(ids_in <<<"$out")" "$id") $(has_id "$(ids_in <<<"$out")" "$id2")"
run paper list --outstanding --json
check "paper list --outstanding shows both" "yes yes" \
  "$(has_id "$(ids_in <<<"$out")" "$id") $(has_id "$(ids_in <<<"$out")" "$id2")"
run paper handover "$id" --to "工事 太郎"
check "handover" 0 "$rc"
contains "handover: the kept hash" "$sha" "$out"
check "handover: the daemon's copy is deleted" "no" \
  "$([ -e "$paper_dir/builder-b-$id.pdf" ] && echo yes || echo no)"
check "handover: the hash stays on record" "$sha" "$(sql "SELECT package_sha256 FROM delivery WHERE id = $id")"
run paper handover "$id" --to "工事 太郎"
check "handover twice refused" 1 "$rc"
contains "handover twice: why" "already" "$err"
cp "$work/gen/S00000010.pdf" "$work/certificate.pdf"  # the signed 返却・廃棄確認書, scanned
run paper returned "$id" --certificate "$work/certificate.pdf"
check "returned with its certificate" 0 "$rc"
check "the certificate kept by its hash" "$(sha256sum "$work/certificate.pdf" | cut -d' ' -f1)" \
  "$(sql "SELECT certificate_sha256 FROM media WHERE delivery_id = $id")"
# The certificate is part of the sheets' row: changing it in the store is caught.
real_cert=$(sql "SELECT certificate_sha256 FROM media WHERE delivery_id = $id")
sql "UPDATE media SET certificate_sha256 = '$(printf '0%.0s' $(seq 64))' WHERE delivery_id = $id"
AS=$AUDITOR run audit verify
check "a changed certificate hash is caught by audit verify" 1 "$rc"
sql "UPDATE media SET certificate_sha256 = '$real_cert' WHERE delivery_id = $id"
AS=$AUDITOR run audit verify
check "intact again once restored" 0 "$rc"
itaku paper handover "$id2" --to "工事 次郎" >/dev/null
run paper shredded "$id2"
check "shredded" 0 "$rc"
run media list --outstanding --json
check "no longer outstanding (media list)" "no no" \
  "$(has_id "$(ids_in <<<"$out")" "$id") $(has_id "$(ids_in <<<"$out")" "$id2")"
run paper list --outstanding --json
check "no longer outstanding (paper list)" "no no" \
  "$(has_id "$(ids_in <<<"$out")" "$id") $(has_id "$(ids_in <<<"$out")" "$id2")"
run paper list --json
check "paper list still shows both" "yes yes" \
  "$(has_id "$(ids_in <<<"$out")" "$id") $(has_id "$(ids_in <<<"$out")" "$id2")"
check "audited paper.handover, paper.returned, paper.shredded" "2 1 1" \
  "$(audits paper.handover) $(audits paper.returned) $(audits paper.shredded)"
check "no PDF left in the daemon's paper folder" "" "$(paper_files | grep '\.pdf$')"
run history --subscriber S00000001
contains "history lists the paper delivery" "delivery $id  builder-b  paper" "$out"

# ---- A daemon without the operator's details prints no slip ----------------
stop_daemon
: > "$work/bare.toml" && chmod 644 "$work/bare.toml"
start_daemon --config "$work/bare.toml" || exit 1
refused_before=$(audits delivery.refused) kept=$(paper_files)
mkdir -p "$work/bare"
run deliver --profile builder-installation --input "$work/three.csv" --attachments "$work/drawings" \
  --via paper --out "$work/bare"
check "placeholder operator: refused" 1 "$rc"
contains "placeholder operator: names the setting" \
  "handover slip needs the operator's own details: set [requests] operator_name in the daemon's config" "$err"
check "placeholder operator: no PDF in --out" "" "$(ls -A "$work/bare")"
check "placeholder operator: nothing in the daemon's paper folder" "$kept" "$(paper_files)"
check "placeholder operator: delivery.refused audited" $((refused_before + 1)) "$(audits delivery.refused)"
stop_daemon
start_daemon || exit 1

# ---- Later: the NDA has ended (last: the daemon's clock does not go back) ---
refused_before=$(audits delivery.refused) kept=$(paper_files)
mkdir -p "$work/refused"
CLOCK=$(noon "$(day "$until + 1 day")") run deliver --profile builder-installation \
  --input "$work/three.csv" --attachments "$work/drawings" --via paper --out "$work/refused"
check "expired NDA: refused" 1 "$rc"
contains "expired NDA: why" "has no NDA in force on $(day "$until + 1 day")" "$err"
check "expired NDA: no PDF in --out" "" "$(ls -A "$work/refused")"
check "expired NDA: nothing in the daemon's paper folder" "$kept" "$(paper_files)"
check "expired NDA: delivery.refused audited" $((refused_before + 1)) "$(audits delivery.refused)"

run audit verify
check "audit intact" 0 "$rc"
finish "paper e2e"
