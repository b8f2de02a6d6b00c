# Sourced, not run: a throwaway SMTP server (python3-aiosmtpd) on a free
# loopback port that keeps every message it accepts in a Maildir, for the
# demo and the end-to-end tests. ops/setup installs python3-aiosmtpd (for
# Debian's /usr/bin/python3, named explicitly: a python3 earlier on PATH may
# lack it).
#
#   source ops/lib/smtp.sh
#   itaku_smtp_start DIR      # $SMTP_PORT, $SMTP_MAILDIR (DIR/maildir)
#   itaku_smtp_stop
#   itaku_smtp_restart        # same port, same Maildir

itaku_smtp_start() {
  local dir="$1"
  mkdir -p "$dir"
  SMTP_DIR="$(cd "$dir" && pwd)"
  SMTP_MAILDIR="$SMTP_DIR/maildir"
  SMTP_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export SMTP_DIR SMTP_MAILDIR SMTP_PORT
  _itaku_smtp_launch
}

_itaku_smtp_launch() {
  /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$SMTP_MAILDIR" \
    >> "$SMTP_DIR/aiosmtpd.log" 2>&1 &
  SMTP_PID=$!
  export SMTP_PID
  local i
  for i in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && return 0
    kill -0 "$SMTP_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "itaku_smtp_start: aiosmtpd did not start; see $SMTP_DIR/aiosmtpd.log" >&2
  return 1
}

itaku_smtp_stop() {
  [[ -n "${SMTP_PID:-}" ]] || return 0
  kill "$SMTP_PID" 2>/dev/null || true
  wait "$SMTP_PID" 2>/dev/null || true
  SMTP_PID=""
}

itaku_smtp_restart() {
  itaku_smtp_stop
  _itaku_smtp_launch
}
