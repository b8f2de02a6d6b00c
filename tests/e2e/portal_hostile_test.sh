#!/usr/bin/env bash
# The contractor portal on a hostile network and at its limits, through the
# real itaku binary (`itaku serve`) with real curl as the contractors; each
# part is a finding of the security review (issue 14, 8):
# (a) 500 idle, and 500 slow TLS, connections from 127.0.0.2 do not keep a
#     contractor on 127.0.0.1 waiting (served within 1 s); junk from the
#     contractor's own address goes at the handshake deadline;
# (b) a client certificate outside its validity is refused at registration
#     and, registered while valid, at the handshake, on record;
# (c) --max-downloads 2 under 12 parallel clients: exactly 2 downloads;
# (d) a 10-byte tail Range counts nothing; ranges that cover the file once;
# (e) used-up, revoked and expired packages leave the disk, on record, the
#     records stay; slots held by a killed daemon are given back at start.
# Usage: portal_hostile_test.sh ITAKU ITAKU_GEN SOURCE_DIR
source "$3/tests/e2e/lib.sh" "$@"
from=$(day "-30 days") until=$(day "+5 years")
cert() {  # cert NAME [DAYS [FAKETIME]]: key + self-signed certificate for 127.0.0.1
  ${3:+faketime -f "$3"} openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$1.key" \
    -out "$work/$1.pem" -days "${2:-30}" -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" \
    2>/dev/null
}
# dates NAME: "START END", the certificate's days as openssl reads them (UTC).
dates() {
  local s e
  s=$(openssl x509 -noout -dateopt iso_8601 -startdate -in "$work/$1.pem" | cut -d= -f2)
  e=$(openssl x509 -noout -dateopt iso_8601 -enddate -in "$work/$1.pem" | cut -d= -f2)
  echo "${s:0:10} ${e:0:10}"
}
log_from=1
serve_log() { serve_log=$(tail -c +"$log_from" "$work/daemon.log" 2>/dev/null); }
serve() {  # (re)starts the daemon with the portal; sets $port and $base
  stop_daemon
  log_from=$(( $(stat -c %s "$work/daemon.log" 2>/dev/null || echo 0) + 1 ))
  start_daemon --config "$work/itaku.toml" --portal-listen 127.0.0.1:0 \
    --portal-cert "$work/server.pem" --portal-key "$work/server.key" || exit 1
  local i
  port=""
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
downloads() { sql "SELECT downloads FROM portal_package WHERE id = '$1'"; }
removal() { sql "SELECT group_concat(json_extract(details, '\$.reason')) FROM audit_event WHERE action = 'portal.package-removed' AND subject = 'portal:$1'"; }
gone_from_disk() { [[ -e "$1" ]] && echo no || echo yes; }

# The portal waits 2 s for a handshake and a first request head; one
# address holds 32 connections; gone packages are swept every second.
cat > "$work/itaku.toml" <<'TOML'
[portal]
handshake_timeout_ms = 2000
max_connections_per_address = 32
sweep_seconds = 1
TOML
for n in server builder; do cert "$n"; done
chown "$SVC" "$work/server.key" && chmod 600 "$work/server.key"
"$GEN" --rows 60 --seed 14 --drawings "$work/drawings" --out "$work/orders.csv" || exit 1
# Real drawings do not compress: about 6 MB of them, so that a download at
# 1.5 MB/s lasts while eleven other clients ask.
refs=$(py "import csv; print(sum(1 for r in csv.DictReader(open('$work/orders.csv', encoding='utf-8-sig')) if r['house_drawing']))")
check "the work orders carry drawings" 1 "$(( refs > 0 ? 1 : 0 ))"
for d in "$work"/drawings/*; do
  { printf '%%PDF-1.4\n'; head -c $((6000000 / (refs > 0 ? refs : 1))) /dev/urandom; } > "$d"
done
printf 'nda\n' > "$work/nda.pdf"
itaku contractor add builder-b --name "夢前建設" --cert "$work/builder.pem" \
  --portal-cert "$work/builder.pem" >/dev/null
itaku nda add builder-b --signed "$from" --from "$from" --until "$until" \
  --document "$work/nda.pdf" --signatory x >/dev/null
sign_contract builder-b "$from" "$from" "$until" installation >/dev/null
sed "s/^valid_from = .*/valid_from = $from/; s/^valid_until = .*/valid_until = $until/" \
  "$SRC/ops/examples/builder-installation.toml" > "$work/inst.toml"
approved profile import "$work/inst.toml"
check "profile imported" 0 "$rc"
publish() {  # publish ARGS...: publishes the work orders; sets $pkg, $file (and a copy, $pkg.p7m)
  run deliver --profile builder-installation --input "$work/orders.csv" \
    --attachments "$work/drawings" --via portal --json "$@"
  pkg=$(json '["portal_package"]')
  file=$(sql "SELECT path FROM portal_package WHERE id = '$pkg'")
  cp "$file" "$work/$pkg.p7m"
}
serve

# (a) Junk connections: junk.py SOURCE COUNT idle|hello opens COUNT TCP
# connections from SOURCE (all of 127/8 is the loopback), each idle or
# sending 11 bytes of a TLS ClientHello, and writes "MADE OPEN" to
# $work/ready once the server has closed those over the limit; then waits
# (up to 8 s) until the server has closed them all and prints "LEFT SECONDS".
ulimit -n 4096 2>/dev/null
check "file descriptors for 500 sockets (ulimit -n)" 1 "$(( $(ulimit -n) >= 600 ? 1 : 0 ))"
cat > "$work/junk.py" <<'PY'
import os, socket, sys, time
source, port, count, mode, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
socks = []
start = time.time()
for _ in range(count):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    if mode == "hello":
        try:
            s.send(hello)
        except OSError:  # already closed by the server (over the limit)
            pass
    s.setblocking(False)
    socks.append(s)
def still_open():
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK):
                n += 1
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
before, now = -1, still_open()
while now != before and time.time() - start < 1.5:
    time.sleep(0.1)
    before, now = now, still_open()
with open(ready + ".new", "w") as f:
    f.write(f"{len(socks)} {now}\n")
os.rename(ready + ".new", ready)
while still_open() > 0 and time.time() - start < 8:
    time.sleep(0.05)
print(still_open(), f"{time.time() - start:.1f}")
PY
junk() {  # junk SOURCE MODE: starts junk.py with 500 connections; waits for $work/ready
  rm -f "$work/ready"
  python3 "$work/junk.py" "$1" "$port" 500 "$2" "$work/ready" > "$work/junk.out" 2>&1 &
  junk_pid=$!
  local i
  for i in $(seq 1 100); do [[ -s "$work/ready" ]] && break; sleep 0.05; done
  read -r made held < "$work/ready"
}
for mode in idle hello; do
  junk 127.0.0.2 $mode
  check "$mode: 500 connections made from 127.0.0.2" 500 "$made"
  check "$mode: 127.0.0.2 holds 32 of them, the rest closed at accept" 32 "$held"
  read -r code seconds <<<"$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
    --cacert "$work/server.pem" --cert "$work/builder.pem" --key "$work/builder.key" "$base")"
  check "$mode: the contractor on 127.0.0.1 is served meanwhile" 200 "$code"
  check "$mode: within 1 s (took ${seconds}s)" 1 "$(py "print(1 if $seconds < 1.0 else 0)")"
  wait "$junk_pid"
  read -r left took < "$work/junk.out"
  check "$mode: the junk is closed at the handshake deadline" 0 "$left"
  check "$mode: after about 2 s (took ${took}s)" 1 "$(py "print(1 if 1.5 <= $took <= 4 else 0)")"
done
# Junk from the contractor's own address fills its share; it goes at the
# deadline, and the contractor gets in.
junk 127.0.0.1 idle
check "own address: 32 held" 32 "$held"
check "own address full: the contractor's connection closed at accept" 000 "$(as builder "$base")"
wait "$junk_pid"
check "own address: after the deadline the contractor is served" 200 "$(as builder "$base")"
check "no junk reached the record" 3 "$(sql "SELECT count(*) FROM audit_event WHERE action = 'portal.request'")"

# (b) Registration refuses a certificate outside its validity, naming the
# contractor and the dates.
cert expired 1 -10d
read -r start end <<<"$(dates expired)"
run contractor add builder-x --name "期限切れ" --portal-cert "$work/expired.pem"
check "expired certificate refused at registration" 1 "$rc"
contains "names the contractor" "contractor builder-x: " "$err"
contains "and the dates" "certificate expired on $end (valid $start to $end)" "$err"
cert early 30 +10d
read -r start end <<<"$(dates early)"
run contractor add builder-y --name "期限前" --portal-cert "$work/early.pem"
check "a certificate not valid yet refused at registration" 1 "$rc"
contains "not valid yet: the dates" "certificate is not valid until $start (valid $start to $end)" "$err"
# One valid for a day, registered now; used once the daemon's clock is past it (last, below).
cert short 1
itaku contractor add builder-s --name "短期" --portal-cert "$work/short.pem" >/dev/null
check "a valid certificate signs in" 200 "$(as short "$base")"

# (c) --max-downloads 2 let 4 of 12 parallel clients download: now exactly 2.
publish --max-downloads 2
pkg_c=$pkg file_c=$file
pids=()
for i in $(seq 1 12); do
  (OUT="$work/par-$i" as builder "$base/$pkg_c" --limit-rate 1500k > "$work/par-$i.code") &
  pids+=($!)
done
wait "${pids[@]}"
served=0 refused=0 said=0 whole=0
for i in $(seq 1 12); do
  case "$(cat "$work/par-$i.code")" in
    200) served=$((served + 1)) ;;
    429) refused=$((refused + 1))
      grep -q 'every download left of this package is under way' "$work/par-$i" && said=$((said + 1)) ;;
    410) refused=$((refused + 1))
      grep -q 'expired, used up or withdrawn' "$work/par-$i" && said=$((said + 1)) ;;
  esac
  cmp -s "$work/par-$i" "$work/$pkg_c.p7m" && whole=$((whole + 1))
done
check "12 parallel clients: 2 served" 2 "$served"
check "12 parallel clients: 10 refused (429 while the two ran, 410 after)" 10 "$refused"
check "each refusal says why" 10 "$said"
check "12 parallel clients: exactly 2 whole packages went out" 2 "$whole"
check "12 parallel clients: 2 downloads counted" 2 "$(downloads "$pkg_c")"
check "no slot left held" 0 "$(sql "SELECT reserved FROM portal_package WHERE id = '$pkg_c'")"
# (e) ...and the package, used up, leaves the disk at once; its record stays.
check "used up: file deleted" yes "$(gone_from_disk "$file_c")"
check "used up: record kept" 1 "$(sql "SELECT count(*) FROM portal_package WHERE id = '$pkg_c'")"
check "used up: deletion on record" "used up" "$(removal "$pkg_c")"

# (d) A 10-byte tail counted as a whole download; now ranges count when,
# together, they cover the file.
publish --max-downloads 1
pkg_d=$pkg file_d=$file
size=$(stat -c %s "$file_d")
check "tail: 206" 206 "$(OUT="$work/tail" as builder "$base/$pkg_d" -r -10)"
check "tail: not a download" 0 "$(downloads "$pkg_d")"
check "tail: still offered" 200 "$(as builder "$base")"
contains "tail: one download left" "\"downloads_left\":1" "$(cat "$work/body")"
half=$((size / 2))
check "first half: 206" 206 "$(OUT="$work/d1" as builder "$base/$pkg_d" -r "0-$((half - 1))")"
check "first half: not a download" 0 "$(downloads "$pkg_d")"
check "second half: 206" 206 "$(OUT="$work/d2" as builder "$base/$pkg_d" -r "$half-")"
check "the halves: one download" 1 "$(downloads "$pkg_d")"
check "the halves make the package" 0 "$(cat "$work/d1" "$work/d2" | cmp -s - "$work/$pkg_d.p7m"; echo $?)"
check "then used up: 410" 410 "$(as builder "$base/$pkg_d")"
check "and deleted" yes "$(gone_from_disk "$file_d")"
check "on record: three parts, the last counted" "0,0,1" \
  "$(sql "SELECT group_concat(counted) FROM (SELECT counted FROM portal_download WHERE package_id = '$pkg_d' ORDER BY seq)")"

# (e) Revoked: the file goes at once, on record.
publish
itaku portal revoke "$pkg" >/dev/null
check "revoked: file deleted" yes "$(gone_from_disk "$file")"
check "revoked: deletion on record" "revoked" "$(removal "$pkg")"

# A daemon killed during a download left its slot held: the next one gives
# it back before the portal opens.
publish --max-downloads 1
pkg_k=$pkg
(OUT="$work/killed" as builder "$base/$pkg_k" --limit-rate 200k > /dev/null) &
curl_pid=$!
for _ in $(seq 1 100); do
  [[ "$(sql "SELECT reserved FROM portal_package WHERE id = '$pkg_k'")" == 1 ]] && break
  sleep 0.05
done
check "a download under way holds a slot" 1 "$(sql "SELECT reserved FROM portal_package WHERE id = '$pkg_k'")"
check "so a second client is refused meanwhile" 429 "$(as builder "$base/$pkg_k")"
kill -KILL "$daemon_pid"
for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.05; done
daemon_pid=""
wait "$curl_pid" 2>/dev/null
check "the killed daemon left it held" 1 "$(sql "SELECT reserved FROM portal_package WHERE id = '$pkg_k'")"
serve
contains "serve settles it" "settled 1 portal download slot(s)" "$serve_log"
check "given back" 0 "$(sql "SELECT reserved FROM portal_package WHERE id = '$pkg_k'")"
check "so the one download allowed can still happen" 200 "$(OUT="$work/after" as builder "$base/$pkg_k")"
check "byte for byte" 0 "$(cmp -s "$work/after" "$work/$pkg_k.p7m"; echo $?)"

# Expired: the daemon's sweep deletes the file. The sweep runs at the
# daemon's start and then every sweep_seconds; libfaketime moves the
# monotonic clock its waits use as well, so the test restarts the daemon
# after moving the clock rather than waiting out a faked period.
publish --expires-in 1m
pkg_e=$pkg file_e=$file
check "not expired: kept" no "$(gone_from_disk "$file_e")"
set_clock "+2 minutes"
serve
for _ in $(seq 1 100); do [[ -e "$file_e" ]] || break; sleep 0.05; done
check "expired: file deleted by the sweep" yes "$(gone_from_disk "$file_e")"
check "expired: deletion on record" "expired" "$(removal "$pkg_e")"
check "expired: record kept" 1 "$(sql "SELECT count(*) FROM portal_package WHERE id = '$pkg_e'")"

# (b) Registered while valid, then past its notAfter (the daemon's clock two
# days on): refused at the handshake, and on record with its dates.
set_clock "+2 days"
read -r start end <<<"$(dates short)"
check "expired since registration: refused at the handshake" 000 "$(as short "$base")"
for _ in $(seq 1 40); do  # the daemon records it just after the alert went out
  refusal=$(sql "SELECT details FROM audit_event WHERE action = 'portal.request' ORDER BY seq DESC LIMIT 1")
  [[ "$refusal" == *builder-s*certificate* ]] && break
  sleep 0.05
done
contains "refusal on record: whose" '"contractor":"builder-s"' "$refusal"
contains "refusal on record: why" "\"outcome\":\"certificate expired on $end (valid $start to $end)\"" "$refusal"
contains "refusal on record: no HTTP answer" '"status":0' "$refusal"

itaku audit verify >/dev/null
check "audit chain intact" 0 $?
finish "portal hostile e2e"
