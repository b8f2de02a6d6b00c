# Sourced, not run: a throwaway OpenSSH server on a free loopback port, for
# the demo, the SFTP benchmark and the end-to-end tests. Needs root (sshd
# drops privileges itself) and openssh-server (ops/setup installs it).
#
#   source ops/lib/sshd.sh
#   itaku_sshd_start DIR      # fresh host key, client key, inbox, sshd
#   ... $SSHD_PORT $SSHD_USER $SSHD_HOST_KEY_FP $SSHD_CLIENT_KEY $SSHD_INBOX
#   itaku_sshd_stop           # the daemon and every session it started
#
# The inbox is DIR/inbox; sftp://$SSHD_USER@127.0.0.1:$SSHD_PORT/$SSHD_INBOX
# names it (absolute path after the port: the URL path is relative to the
# login's home, as in OpenSSH, unless it starts with //).

itaku_sshd_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

itaku_sshd_start() {
  local dir="$1"
  [[ "$(id -u)" = 0 ]] || { echo "itaku_sshd_start: needs root" >&2; return 1; }
  [[ -x /usr/sbin/sshd ]] || { echo "itaku_sshd_start: /usr/sbin/sshd missing (ops/setup)" >&2; return 1; }
  mkdir -p "$dir/inbox" /run/sshd
  dir="$(cd "$dir" && pwd)"
  rm -f "$dir/hostkey" "$dir/hostkey.pub" "$dir/client_key" "$dir/client_key.pub"
  ssh-keygen -q -t ed25519 -N '' -C itaku-sshd-host -f "$dir/hostkey"
  ssh-keygen -q -t ed25519 -N '' -C itaku-sshd-client -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  SSHD_USER="$(id -un)"
  SSHD_INBOX="$dir/inbox"
  SSHD_CLIENT_KEY="$dir/client_key"
  SSHD_HOST_KEY_FP="$(ssh-keygen -lf "$dir/hostkey.pub" | awk '{print $2}')"
  SSHD_DIR="$dir"
  local attempt
  for attempt in 1 2 3 4 5; do
    SSHD_PORT="$(itaku_sshd_free_port)"
    cat > "$dir/sshd_config" <<CONFIG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $dir/hostkey
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
StrictModes no
Subsystem sftp internal-sftp
PidFile $dir/sshd.pid
LogLevel VERBOSE
CONFIG
    _itaku_sshd_launch && return 0
  done
  echo "itaku_sshd_start: sshd did not start; see $dir/sshd.log" >&2
  return 1
}

# Starts sshd from $SSHD_DIR/sshd_config and waits until it accepts.
_itaku_sshd_launch() {
  local dir="$SSHD_DIR" i
  rm -f "$dir/sshd.pid"
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" || return 1
  for i in $(seq 1 100); do
    if [[ -s "$dir/sshd.pid" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
      SSHD_PID="$(cat "$dir/sshd.pid")"
      export SSHD_PORT SSHD_USER SSHD_INBOX SSHD_CLIENT_KEY SSHD_HOST_KEY_FP SSHD_PID SSHD_DIR
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# The server dies at once, sessions included (a crash, a pulled cable).
itaku_sshd_kill() {
  [[ -n "${SSHD_PID:-}" ]] || return 0
  local all
  all="$(_itaku_sshd_tree "$SSHD_PID")"
  kill -STOP $all 2>/dev/null || true
  kill -9 $all 2>/dev/null || true
  SSHD_PID=""
}

# A process and all its descendants.
_itaku_sshd_tree() {
  local pid
  echo "$1"
  for pid in $(pgrep -P "$1" 2>/dev/null); do _itaku_sshd_tree "$pid"; done
}

# The same server (port, host key, inbox) again after itaku_sshd_kill.
itaku_sshd_restart() {
  itaku_sshd_kill
  local i
  for i in 1 2 3 4 5; do
    _itaku_sshd_launch && return 0
    sleep 0.2
  done
  echo "itaku_sshd_restart: sshd did not come back; see $SSHD_DIR/sshd.log" >&2
  return 1
}

itaku_sshd_stop() {
  [[ -n "${SSHD_PID:-}" ]] || return 0
  # The listener and the per-connection processes it forked.
  kill $(_itaku_sshd_tree "$SSHD_PID") 2>/dev/null || true
  SSHD_PID=""
}
