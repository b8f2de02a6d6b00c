# The staff console over HTTPS for the end-to-end scripts (sourced after
# lib.sh by console_http_test.sh and console_supervision_test.sh): the
# daemon restarted with a console certificate on a free loopback port
# ($base), HTTP through the real curl with one cookie jar per person, and
# the real oathtool as everyone's authenticator app (enrol, signin).

# ---- The console's certificate; the daemon restarted with the console ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/console.key" \
  -out "$work/console.crt" 2>/dev/null || { echo "openssl failed" >&2; exit 1; }
chown "$SVC" "$work/console.key"
chmod 600 "$work/console.key"
stop_daemon
start_daemon --console-cert "$work/console.crt" --console-key "$work/console.key" \
  --console-listen 127.0.0.1:0 || exit 1
port=""
for i in $(seq 50); do
  port=$(sed -n 's|.*console listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/daemon.log" | tail -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the console did not start:" >&2; cat "$work/daemon.log" >&2; exit 1; }
base="https://127.0.0.1:$port"

# ---- HTTP with curl ---------------------------------------------------------
# req JAR CURL-ARGS... URL: one request with the cookie jar $work/JAR.jar;
# sets $code, $body, $hdrs (CR-free), $loc (the Location header).
req() {
  local jar=$1
  shift
  code=$(curl -sk --path-as-is --max-time 60 -b "$work/$jar.jar" -c "$work/$jar.jar" \
    -D "$work/hdrs" -o "$work/body" -w '%{http_code}' "$@")
  body=$(tr -d '\0' < "$work/body" 2>/dev/null)
  hdrs=$(tr -d '\r' < "$work/hdrs" 2>/dev/null)
  loc=$(echo "$hdrs" | sed -n 's/^[Ll]ocation: //p' | tail -n 1)
}
get() { local jar=$1 path=$2; shift 2; req "$jar" "$@" "$base$path"; }
# post JAR PATH [CURL-ARGS...]: a POST (an empty urlencoded body without args).
post() {
  local jar=$1 path=$2
  shift 2
  [ $# -gt 0 ] || set -- --data ''
  req "$jar" "$@" "$base$path"
}
header() { echo "$hdrs" | sed -n "s/^$1: //Ip" | head -n 1; }
main_of() { echo "$body" | sed -n '/<main/,/<\/main>/p' | grep -v '^$'; }  # the page without the layout
csrf_of() { echo "$body" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1; }
cookie_of() { awk -v n="$2" '$6 == n {print $7}' "$work/$1.jar" 2>/dev/null | tail -n 1; }
lacks() {  # lacks NAME NEEDLE HAYSTACK
  if [[ "$3" != *"$2"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL %s\n  unexpected: %s\n  in: %s\n' "$1" "$2" "$3"; fi
}
alive() { kill -0 "$daemon_pid" 2>/dev/null && echo yes || echo no; }
# section_of SID: one <section id="SID"> of the last page.
section_of() {
  printf '%s' "$body" | py "import sys
t = sys.stdin.read()
at = t.find('<section class=\"card\" id=\"$1\"')
print(t[at:t.find('</section>', at)] if at >= 0 else '')"
}
# The error line a form shows after a redirect back to it.
form_error() { echo "$body" | sed -n 's/.*<p class="error" role="alert">\([^<]*\)<.*/\1/p' | head -n 1; }

# ---- TOTP: the authenticator app -------------------------------------------
# The daemon's clock (the real one moved by $work/clock), and a code for a
# person that the console accepts now and has not seen (each step once).
# Rather than wait for a person's next 30-second step, the daemon's clock
# moves forward to it (never back: sessions only see time pass).
declare -A secret=() password=() last_step=()
dnow() { echo $(( $(real_now) + $(cat "$work/clock") )); }
next_code() {  # next_code NAME: sets $totp
  local name=$1 want now_step
  now_step=$(( $(dnow) / 30 ))
  want=$(( ${last_step[$name]:-0} + 1 ))
  [ "$want" -ge "$now_step" ] || want=$now_step
  [ "$want" -le $(( $(dnow) / 30 + 1 )) ] || set_clock "@$(( (want - 1) * 30 ))"
  last_step[$name]=$want
  totp=$(oathtool --totp -b "${secret[$name]}" -N "@$(( want * 30 ))")
}
wrong_code() {  # wrong_code NAME: sets $totp to a code of no step near now
  local right
  right=$(oathtool --totp -b "${secret[$1]}" -N "@$(dnow)")
  totp=$(printf '%06d' $(( (10#$right + 500000) % 1000000 )))
}

# enrol NAME: a code from the officer's CLI, then /enrol and /enrol/finish.
enrol_codes=()
enrol() {
  local name=$1 ecode
  ecode=$(itaku staff enrol-code "$name" --json | py 'import json,sys; print(json.load(sys.stdin)["code"])')
  enrol_codes+=("$ecode")
  rm -f "$work/$name.jar"
  get "$name" /enrol
  check "GET /enrol ($name)" 200 "$code"
  post "$name" /enrol --data-urlencode "csrf=$(csrf_of)" --data-urlencode "name=$name" \
    --data-urlencode "code=$ecode"
  check "POST /enrol ($name)" 200 "$code"
  secret[$name]=$(echo "$body" | sed -n 's/.*id="totp-secret">\([A-Z2-7]*\)<.*/\1/p')
  check "a TOTP secret offered to $name" 1 "$([ ${#secret[$name]} -ge 16 ] && echo 1)"
  password[$name]="Kakitsubata-Sumire-$RANDOM-7"
  next_code "$name"
  post "$name" /enrol/finish --data-urlencode "csrf=$(csrf_of)" --data-urlencode "name=$name" \
    --data-urlencode "code=$ecode" --data-urlencode "password=${password[$name]}" \
    --data-urlencode "password_again=${password[$name]}" --data-urlencode "totp=$totp"
  check "enrolled: $name" "303 /signin?enrolled=1" "$code $loc"
}
# signin JAR NAME: a fresh jar, GET /signin, POST /signin with the next code.
signin() {
  local jar=$1 name=$2
  rm -f "$work/$jar.jar"
  get "$jar" /signin
  next_code "$name"
  post "$jar" /signin --data-urlencode "csrf=$(csrf_of)" --data-urlencode "name=$name" \
    --data-urlencode "password=${password[$name]}" --data-urlencode "totp=$totp"
}
