#!/usr/bin/env bash
# A throwaway single-node Ceph S3 gateway (radosgw 16.2) on 127.0.0.1, for tests and for trying
# sync locally. mon -> memstore OSD -> radosgw, auth off, every file in one temporary folder,
# every daemon started and stopped by its PID file. Nothing listens on any other address.
#
#   scripts/s3-gateway.sh start     start one; print `export COFFER_S3_...=...` lines on stdout
#                                   (logs go to stderr), so: eval "$(scripts/s3-gateway.sh start)"
#   scripts/s3-gateway.sh stop [D]  stop the gateway in folder D (default $COFFER_S3_GATEWAY_DIR)
#                                   by PID, wait for every daemon to exit, remove the folder
#   scripts/s3-gateway.sh env [D]   print the export lines of a running gateway again
#   scripts/s3-gateway.sh restart-rgw [D]
#                                   start radosgw again (stopping it first if it runs) in the
#                                   gateway of folder D, same config and port; mon and OSD stay
#                                   (the OSD is a memstore: restarting it would lose the data)
#   scripts/s3-gateway.sh run       start, make a versioned bucket with the sync CORS rule
#                                   (COFFER_S3_DEV_BUCKET, default coffer), print, stay in the
#                                   foreground until Ctrl-C, then stop
#
# Settings (environment):
#   COFFER_S3_PORT       the S3 port (default 7480)
#   COFFER_S3_MON_PORT   the monitor's port (default 3300)
#   COFFER_S3_STORE_MIB  the memstore OSD's size in MiB (default 1024; ~2560 for a 2 GiB file)
#   COFFER_S3_GATEWAY_DIR  for start: the folder to use (created, must not exist or be empty);
#                        default a new mktemp folder
#   COFFER_S3_TCP_NODELAY  for start: 1 (default) or 0, the beast frontend's tcp_nodelay
#
# Needs the Debian packages: apt-get install ceph-mon ceph-osd radosgw ceph-common
set -euo pipefail

readonly HOST=127.0.0.1
readonly ACCESS_KEY=COFFERTESTACCESSKEY1
readonly SECRET_KEY=coffer-test-secret-key-not-for-production
readonly READY_TIMEOUT=${COFFER_S3_READY_TIMEOUT:-120}
# The daemons in start order; stop goes in reverse.
readonly DAEMONS=(mon.a osd.0 client.rgw.a)

log() { printf 's3-gateway: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

need_binaries() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
  done
  if ((${#missing[@]})); then
    die "missing ${missing[*]}: install them with: apt-get install ceph-mon ceph-osd radosgw ceph-common"
  fi
}

# Is something answering HTTP on port $1? (bash's /dev/tcp: no curl needed)
http_ok() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/'"$HOST"'/$0" || exit 1
    printf "GET / HTTP/1.0\r\nHost: '"$HOST"'\r\n\r\n" >&3
    IFS= read -r status <&3 && [[ $status == "HTTP/1."[01]" 200"* ]]
  ' "$1" 2>/dev/null
}

port_busy() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/'"$HOST"'/$0"' "$1" 2>/dev/null
}

print_env() {
  local dir=$1
  [[ -f $dir/gateway.env ]] || die "no gateway in $dir (no gateway.env)"
  cat "$dir/gateway.env"
}

# Send SIGTERM to the daemon whose pid file is $1 and wait (up to 30 s, then SIGKILL) for it to exit.
stop_pidfile() {
  local pidfile=$1 pid
  [[ -s $pidfile ]] || return 0
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  # Only a Ceph daemon of ours: its command line names this folder's config.
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"; then
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid did not exit after 30 s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

cmd_stop() {
  local dir=${1:-${COFFER_S3_GATEWAY_DIR:-}}
  [[ -n $dir ]] || die "stop: which gateway? pass its folder or set COFFER_S3_GATEWAY_DIR"
  [[ -d $dir ]] || return 0
  # Refuse to remove a folder that is not one of ours.
  [[ -f $dir/ceph.conf && -d $dir/run ]] || die "stop: $dir is not a gateway folder"
  CONF=$dir/ceph.conf
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    stop_pidfile "$dir/run/${DAEMONS[i]}.pid"
  done
  rm -rf -- "$dir"
  log "stopped; removed $dir"
}

write_conf() {
  local dir=$1 fsid=$2 port=$3 mon_port=$4 store_bytes=$5 nodelay=$6
  cat >"$dir/ceph.conf" <<EOF
# Written by scripts/s3-gateway.sh: a throwaway single-node cluster, removed on stop.
[global]
fsid = $fsid
mon host = v2:$HOST:$mon_port
mon initial members = a
public addr = $HOST
cluster addr = $HOST
ms bind ipv6 = false
ms bind ipv4 = true
auth cluster required = none
auth service required = none
auth client required = none
# Without this radosgw loops on an authentication error when auth is off.
ms mon client mode = crc secure
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = false
mon cluster log file = $dir/log/cluster.log
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
mon allow pool delete = true

[mon.a]
mon data = $dir/mon.a

[osd.0]
osd data = $dir/osd.0
osd objectstore = memstore
memstore device bytes = $store_bytes

[client.rgw.a]
# tcp_nodelay: without it a small response waits for the client's delayed ACK (Nagle): one
# small versioned GET at a time took 44-52 ms, with it 2-7 ms (PUTs 6-13 ms either way).
rgw frontends = beast endpoint=$HOST:$port tcp_nodelay=$nodelay
rgw data = $dir/rgw.a
rgw enable usage log = false
# Free deleted objects' bytes within seconds (the default waits 2 hours): the memstore OSD holds
# them in RAM, and test runs delete what they wrote (a 2 GiB push filled it after ~3 GiB of purged runs).
rgw gc obj min wait = 0
rgw gc processor period = 5
EOF
}

cmd_start() {
  need_binaries
  local port=${COFFER_S3_PORT:-7480} mon_port=${COFFER_S3_MON_PORT:-3300}
  local store_mib=${COFFER_S3_STORE_MIB:-1024} nodelay=${COFFER_S3_TCP_NODELAY:-1}
  [[ $port =~ ^[0-9]+$ && $mon_port =~ ^[0-9]+$ ]] || die "COFFER_S3_PORT and COFFER_S3_MON_PORT must be numbers"
  [[ $store_mib =~ ^[0-9]+$ ]] || die "COFFER_S3_STORE_MIB must be a number of MiB"
  [[ $nodelay == [01] ]] || die "COFFER_S3_TCP_NODELAY must be 0 or 1"
  port_busy "$port" && die "port $HOST:$port is in use (set COFFER_S3_PORT)"
  port_busy "$mon_port" && die "port $HOST:$mon_port is in use (set COFFER_S3_MON_PORT)"

  local dir=${COFFER_S3_GATEWAY_DIR:-}
  if [[ -n $dir ]]; then
    mkdir -p -- "$dir"
    [[ -z $(ls -A -- "$dir") ]] || die "$dir is not empty"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/coffer-s3.XXXXXX")
  fi
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd.0" "$dir/rgw.a"
  CONF=$dir/ceph.conf
  # On any failure from here on: stop what started and remove the folder.
  trap 'status=$?; if ((status)); then log "start failed; logs were in $dir/log:"; tail -n 20 "$dir"/log/*.log >&2 2>/dev/null || true; cmd_stop "$dir" || true; fi' EXIT

  local started=$SECONDS fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$dir" "$fsid" "$port" "$mon_port" $((store_mib * 1024 * 1024)) "$nodelay"
  local c=(-c "$CONF")

  log "mon on $HOST:$mon_port ($dir)"
  ceph-authtool "${c[@]}" --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --add a "v2:$HOST:$mon_port" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
  ceph-mon "${c[@]}" -i a --pid-file "$dir/run/mon.a.pid"

  log "osd (memstore, $store_mib MiB)"
  local id
  id=$(timeout 60 ceph "${c[@]}" osd create)
  [[ $id == 0 ]] || die "ceph osd create returned '$id', expected 0"
  ceph-osd "${c[@]}" -i 0 --mkfs 2>>"$dir/log/osd-mkfs.log"
  ceph-osd "${c[@]}" -i 0 --pid-file "$dir/run/osd.0.pid"

  log "radosgw on http://$HOST:$port"
  radosgw "${c[@]}" -n client.rgw.a --pid-file "$dir/run/client.rgw.a.pid"

  local deadline=$((SECONDS + READY_TIMEOUT))
  until http_ok "$port"; do
    ((SECONDS < deadline)) || die "radosgw did not answer GET / on $HOST:$port within ${READY_TIMEOUT} s"
    for d in "${DAEMONS[@]}"; do
      local p
      p=$(cat "$dir/run/$d.pid" 2>/dev/null || true)
      [[ -n $p ]] && kill -0 "$p" 2>/dev/null || [[ $d == client.rgw.a && -z $p ]] || die "$d exited"
    done
    sleep 0.25
  done

  radosgw-admin "${c[@]}" user create --uid=coffer-test --display-name="Coffer tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$dir/log/radosgw-admin.log"

  cat >"$dir/gateway.env" <<EOF
export COFFER_S3_ENDPOINT=http://$HOST:$port
export COFFER_S3_ACCESS_KEY=$ACCESS_KEY
export COFFER_S3_SECRET_KEY=$SECRET_KEY
export COFFER_S3_REGION=us-east-1
export COFFER_S3_GATEWAY_DIR=$dir
EOF
  trap - EXIT
  log "ready in $((SECONDS - started)) s: http://$HOST:$port (stop: $0 stop $dir)"
  print_env "$dir"
}

# radosgw alone, again: for tests that stop the gateway mid-sync and bring it back.
cmd_restart_rgw() {
  local dir=${1:-${COFFER_S3_GATEWAY_DIR:-}}
  [[ -n $dir ]] || die "restart-rgw: which gateway? pass its folder or set COFFER_S3_GATEWAY_DIR"
  [[ -f $dir/ceph.conf && -d $dir/run ]] || die "restart-rgw: $dir is not a gateway folder"
  CONF=$dir/ceph.conf
  local port
  port=$(sed -n 's/^rgw frontends = beast endpoint=[^ ]*:\([0-9][0-9]*\)\( .*\)\{0,1\}$/\1/p' "$CONF")
  [[ -n $port ]] || die "restart-rgw: no radosgw port in $CONF"
  stop_pidfile "$dir/run/client.rgw.a.pid"
  rm -f -- "$dir/run/client.rgw.a.pid"
  local started=$SECONDS
  radosgw -c "$CONF" -n client.rgw.a --pid-file "$dir/run/client.rgw.a.pid"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until http_ok "$port"; do
    ((SECONDS < deadline)) || die "radosgw did not answer GET / on $HOST:$port within ${READY_TIMEOUT} s"
    sleep 0.1
  done
  log "radosgw restarted in $((SECONDS - started)) s: http://$HOST:$port"
}

cmd_run() {
  local out dir
  out=$(cmd_start)
  dir=$(sed -n 's/^export COFFER_S3_GATEWAY_DIR=//p' <<<"$out")
  trap 'cmd_stop "$dir"; exit 0' INT TERM
  trap 'cmd_stop "$dir"' EXIT
  out+=$'\n'$(eval "$out" && node "$(dirname "$0")/s3-dev-bucket.mjs")
  printf '%s\n' "$out"
  log "running; Ctrl-C stops it. To use it from another shell: eval \"\$($0 env $dir)\""
  while :; do
    for d in "${DAEMONS[@]}"; do
      local p
      p=$(cat "$dir/run/$d.pid" 2>/dev/null || true)
      [[ -n $p ]] && kill -0 "$p" 2>/dev/null || die "$d exited; see the logs in $dir/log"
    done
    sleep 2 &
    wait $! || true
  done
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
restart-rgw) cmd_restart_rgw "${2:-}" ;;
env) print_env "${2:-${COFFER_S3_GATEWAY_DIR:?pass the gateway folder}}" ;;
run) cmd_run ;;
*)
  sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
