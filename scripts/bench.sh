#!/usr/bin/env bash
# Side-by-side benchmark: stock vsftpd (Debian's), SFTPGo (the same FTPS library as
# the simulator) and the ftpsgw simulator, each started ONCE and kept running (long-lived
# instances, the simulator on its default passive range 36000-39999), under the same
# `ftpsgw load` scenarios, alternating peers with the order rotated every round, ROUNDS rounds,
# then the median of each figure and its ratio to SFTPGo and to vsftpd. Then the simulator
# with 0, 10,000, 50,000 and 200,000 finished uploads kept (seed_history; all started, the rounds
# alternating between them), and a burst of BURST uploads with the receipt lag.
#
# All peers: loopback, ECDSA P-256 certificates from one `ftpsgw pki init --key ecdsa`, mutual
# TLS 1.2 (client certificate required and verified), password login, the same Go client.
# The simulator keeps SHA-256 of every upload, its journal and receipts, with its default
# durability (process: no fsync, SQLite WAL synchronous=NORMAL); a second simulator with
# durability: power (fsync before 226, synchronous=FULL) runs the upload scenarios and is
# compared with what the disk itself persists (dd, O_DIRECT, fsync). SFTPGo and vsftpd do not
# fsync or hash. scripts/bench-both.sh (make bench) runs all of it on the disk and on tmpfs.
#
#   sudo FTPSGW_SFTPGO=/path/to/sftpgo-ftps.sh make bench
#   ROUNDS=5 SCENARIOS="sessions8 upload1" FILLS="0 200000" scripts/bench.sh
#
# Peers: vsftpd needs root (it installs Debian's vsftpd and makes a local user) and is left
# out otherwise; SFTPGo is run from the script FTPSGW_SFTPGO names (never committed: it is
# not served by the Go module proxy) and left out when that is unset. Each absence is
# printed, and the summary says which peers ran. Listens on 127.0.0.1 only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
scenarios=${SCENARIOS:-"sessions8 sessions32 upload1 upload8 idle1000 list50k"}
fills=${FILLS-"0 10000 50000 200000"} # FILLS="" leaves the history runs out
burst=${BURST:-20000}
mixed=${MIXED_TIME:-120s} # the documented run is 10m: MIXED_TIME=10m
work=${WORK:-$(mktemp -d /tmp/ftpsgw-bench-XXXXXX)}
# The work folder is the bench's own: new or empty (the peers' data in it is deleted at the end).
if [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
	echo "WORK=$work is not empty: give the bench a new or empty folder (it deletes the peers' data in it when it ends)" >&2
	exit 2
fi
mkdir -p "$work/results"
(cd "$repo" && make -s build)
bin=$repo/bin/ftpsgw
"$bin" pki init --key ecdsa --out "$work/pki" >/dev/null
pids=()
vsftpd_home="" # set once vsftpd's local user is made
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
# What the peers stored (gigabytes: the simulator keeps every submission) is deleted when the
# bench ends, however it ends; the results, the summary and the logs stay. On tmpfs it is
# memory: two runs left behind fill a 24 GiB machine.
dropdata() {
	rm -rf "$work"/sim-*/data "$work/sftpgo-home" "$work/sftpgo" "$work/random" "$work"/dd-*
	[ -n "$vsftpd_home" ] && rm -rf "${vsftpd_home:?}/FTPSGW.Heartbeat" "${vsftpd_home:?}/out"
	return 0
}
trap 'cleanup; dropdata' EXIT
wait_port() { # host:port pid what
	for _ in $(seq 600); do
		(exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "$3 did not start listening on $1" >&2
	return 1
}
# profile NAME ADDR PASSIVE USER PASSWORD [CONTROL_URL] > yaml, for the moces certificate
profile() {
	python3 - "$work/pki" "$@" <<'PY'
import json, sys
pki, name, addr, passive, user, pw = sys.argv[1:7]
ctl = sys.argv[7] if len(sys.argv) > 7 else ""
m = json.load(open(pki + "/manifest.json"))
i = [x for x in m["identities"] if x["name"] == "moces"][0]
print(f"name: {name}\naddress: {addr}\nca: {pki}/{m['ca']['bundle']}\nserver_name: localhost\npassive_ports: {passive}")
if ctl:
    print(f"control:\n  url: {ctl}")
print(f"identities:\n  - name: moces\n    cert: {pki}/{i['chain']}\n    key: {pki}/{i['key']}\n    username: {user if user != '-' else i['username']}\n"
      f"    password: {pw if pw != '-' else i['password']}\n    folders: [FTPSGW.Heartbeat]")
PY
}
manyfiles() { # dir n: n empty files, as a 50,000-entry /out for the peers without receipts
	python3 -c 'import os,sys
d,n=sys.argv[1],int(sys.argv[2]); os.makedirs(d,exist_ok=True)
for i in range(n): open(os.path.join(d,"status_FTPSGW.Heartbeat_f%06d.txt_%d.xml"%(i//2,1+i%2)),"w").close()' "$@"
}
peers=()
limits='limits: {max_sessions: 0, max_sessions_per_address: 0, max_sessions_per_identity: 0}'

# --- the simulator: long-lived, default passive range, limits for one address lifted --------
start_sim() { # name seed port-base [durability]
	local dir=$work/sim-$1
	mkdir -p "$dir"
	printf '%s\nseed_history: {uploads: %s}\ndurability: %s\n' "$limits" "$2" "${4:-process}" > "$dir/serve.yaml"
	"$bin" serve --pki "$work/pki" --data "$dir/data" --config "$dir/serve.yaml" --log-level warn \
		--listen "127.0.0.1:$3" --control "127.0.0.1:$(($3 + 1))" > "$dir/serve.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_port "127.0.0.1:$(($3 + 1))" "$pid" "ftpsgw serve ($1)" || { cat "$dir/serve.log" >&2; exit 1; }
	wait_port "127.0.0.1:$3" "$pid" "ftpsgw serve ($1)"
	profile "ftpsgw serve" "127.0.0.1:$3" 36000-39999 - - "http://127.0.0.1:$(($3 + 1))" > "$work/$1.yaml"
	echo "$pid" > "$work/$1.pid"
}
start_sim simulator 25000 7021 # 25,000 finished uploads: 50,000 receipts in /out for list50k
peers+=(simulator)
if [ "${POWER:-1}" != 0 ]; then # durability: power, for the upload scenarios only
	start_sim power 0 7031 power
	peers+=(power)
fi

# --- SFTPGo ---------------------------------------------------------------------------------
if [ -n "${FTPSGW_SFTPGO:-}" ]; then
	[ -x "$FTPSGW_SFTPGO" ] || { echo "FTPSGW_SFTPGO=$FTPSGW_SFTPGO is not an executable script" >&2; exit 2; }
	sgpass="Sg-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	mkdir -p "$work/sftpgo-home/FTPSGW.Heartbeat"
	manyfiles "$work/sftpgo-home/out" 50000
	"$FTPSGW_SFTPGO" --pki "$work/pki" --listen 127.0.0.1:7041 --passive 41000-41999 --home "$work/sftpgo-home" \
		--user benchuser --password "$sgpass" --work "$work/sftpgo" > "$work/sftpgo.log" 2>&1 &
	pids+=($!)
	echo $! > "$work/sftpgo.pid"
	wait_port 127.0.0.1:7041 $! SFTPGo || { tail "$work/sftpgo.log" >&2; exit 1; }
	profile "SFTPGo (ftpserverlib v0.32.1)" 127.0.0.1:7041 41000-41999 benchuser "$sgpass" > "$work/sftpgo.yaml"
	peers+=(sftpgo)
else
	echo "SFTPGo left out: set FTPSGW_SFTPGO to an SFTPGo start script (docs/BENCHMARKS.md says what it must do; SFTPGo is not part of the project)" >&2
fi

# --- vsftpd ---------------------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && [ "${VSFTPD:-1}" != 0 ]; then
	. "$repo/scripts/vsftpd-setup.sh" FTPSGW.Heartbeat
	vsftpd_home=$home
	manyfiles "$home/out" 50000
	chown -R ftpsgwtest "$home"
	cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=2121
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40999
pasv_address=127.0.0.1
max_clients=0
max_per_ip=0
idle_session_timeout=600
data_connection_timeout=600
ssl_enable=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_cert=YES
validate_cert=YES
ca_certs_file=$work/pki/ca/bundle.pem
rsa_cert_file=$work/pki/server/chain.pem
rsa_private_key_file=$work/pki/server/key.pem
ssl_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256
require_ssl_reuse=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
xferlog_enable=NO
CONF
	vsftpd "$work/vsftpd.conf" &
	pids+=($!)
	echo $! > "$work/vsftpd.pid"
	wait_port 127.0.0.1:2121 $! vsftpd
	profile "vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null)" 127.0.0.1:2121 40000-40999 ftpsgwtest "$password" > "$work/vsftpd.yaml"
	peers+=(vsftpd)
else
	[ "${VSFTPD:-1}" = 0 ] && echo "vsftpd left out (VSFTPD=0)" >&2 || echo "vsftpd left out: it needs root (Debian's package and a local user)" >&2
fi

declare -A flags=(
	[sessions8]="--scenario sessions --concurrency 8 --duration 10s"
	[sessions32]="--scenario sessions --concurrency 32 --duration 10s"
	[upload1]="--scenario upload --concurrency 1 --count 4 --size 256MiB --duration 120s"
	[upload8]="--scenario upload --concurrency 8 --count 8 --size 64MiB --duration 120s"
	[idle1000]="--scenario idle --concurrency 1000 --duration 20s"
	[list50k]="--scenario list --concurrency 1 --count 20 --min-entries 50000 --duration 120s"
	[mixed]="--scenario mixed --concurrency 8 --size 4KiB --duration $mixed"
)
{
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
	echo "kernel: $(uname -r); disk: $(df -hT "$work" | awk 'NR==2 {print $2" on "$1}')"
	echo "go: $(go version | cut -d' ' -f3); ftpsgw: $("$bin" version); commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)"
	echo "peers: ${peers[*]}; rounds: $rounds; scenarios: $scenarios; fills: $fills; burst: $burst"
} | tee "$work/machine.txt"

# warm MiB: write and delete that much on tmpfs just before an upload run, for every peer
# alike. On these VMs memory freed a while ago has been handed back to the host (virtio
# balloon free page reporting); the first touch of such a page costs several times a copy
# (dd to tmpfs: 0.11 s per 256 MiB into recently freed pages, 0.7-1.0 s into the others).
# Without it the figure depends on who freed memory last: the peers' files are deleted
# between runs and their next run reuses those pages, while the simulator keeps every
# submission (it must) and, on tmpfs, takes cold pages: one stream measured 310 MB/s cold
# against 740-850 MB/s warm, the same binary. WARM=0 leaves it out.
warm() {
	[ "${WARM:-1}" = 0 ] && return 0
	[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || return 0
	local f=/dev/shm/ftpsgw-bench-warm-$$
	dd if=/dev/zero of="$f" bs=1M count="$1" status=none 2>/dev/null || true
	rm -f "$f"
}
run() { # peer scenario tag
	local p=$1 s=$2 tag=$3
	echo "== $tag $s: $p"
	case $p in sftpgo) rm -rf "$work/sftpgo-home/FTPSGW.Heartbeat/"* ;; vsftpd) rm -rf "${home:?}/FTPSGW.Heartbeat/"* ;; esac
	sync # no writeback of the previous run's files during this one
	case $s in upload1) warm 1280 ;; upload8) warm 640 ;; esac # 1.25 × what the run writes
	"$bin" load --target "$work/$p.yaml" --server-pid "$(cat "$work/$p.pid")" ${flags[$s]} \
		--json "$work/results/$s-$p-$tag.json" 2>/dev/null | sed 's/^/   /' || echo "   (errors: see the table)"
}
# disk scenario tag: what the disk itself persists in an upload scenario's shape (dd of random
# bytes, O_DIRECT in 1 MiB writes as the simulator's spool does, fsync before it ends), in the
# same round as the peers: the ceiling of any server that fsyncs before 226. SFTPGo and vsftpd
# do not fsync.
disk() {
	[ "$(stat -f -c %T "$work")" = tmpfs ] && return 0 # no O_DIRECT on tmpfs, and nothing to persist
	local streams=1 mib=256
	[ "$1" = upload8 ] && streams=8 mib=64
	[ -f "$work/random" ] || head -c 256M /dev/urandom > "$work/random"
	sync
	local t0 t1
	local dds=()
	t0=$(date +%s.%N)
	for i in $(seq "$streams"); do
		dd if="$work/random" of="$work/dd-$i" bs=1M count="$mib" oflag=direct conv=fsync status=none &
		dds+=($!)
	done
	wait "${dds[@]}" # only the dd: the peers are children of this shell too
	t1=$(date +%s.%N)
	rm -f "$work"/dd-*
	python3 -c 'import json,sys; n,m,a,b=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print(json.dumps({"mb_per_s": n*m*1.048576/(b-a)}))' \
		"$streams" "$mib" "$t0" "$t1" > "$work/results/$1-disk-$2.json"
	echo "== $2 $1: the disk (dd, O_DIRECT, fsync): $(python3 -c 'import json,sys; print("%.0f MB/s" % json.load(open(sys.argv[1]))["mb_per_s"])' "$work/results/$1-disk-$2.json")"
}
for r in $(seq "$rounds"); do
	n=${#peers[@]}
	for s in $scenarios; do
		[ -n "${flags[$s]:-}" ] || { echo "unknown scenario $s" >&2; exit 2; }
		for k in $(seq 0 $((n - 1))); do
			p=${peers[$(((k + r) % n))]}
			case $p:$s in power:upload*) ;; power:*) continue ;; esac
			run "$p" "$s" "r$r"
		done
		case $s in upload1 | upload8) disk "$s" "r$r" ;; esac
	done
done
rm -f "$work/random"
for p in "${peers[@]}"; do # memory after a mixed run, once per peer, the journal filling
	[ "${MIXED:-1}" = 0 ] || [ "$p" = power ] && continue
	run "$p" mixed once
	awk '/^Rss:/ {print "{\"rss_bytes\": " $2 * 1024 "}"}' "/proc/$(cat "$work/$p.pid")/smaps_rollup" > "$work/results/rssafter-$p-once.json" 2>/dev/null || true
	if [ "$p" = simulator ]; then # the journal's state after it: full or not (it should be full)
		curl -sf "http://127.0.0.1:7022/control/v1/journal?since=9223372036854775807" > "$work/results/journal-after-mixed.json" || true
	fi
done

# --- the simulator with history kept (the peers are stopped first) --------------------------
# Every history size is started at once (idle but for the one measured) and the rounds
# alternate between them, so a figure and its baseline share the machine's moments: run one
# after the other, the noise of these machines (±10% between 10 s runs) would read as a trend.
cleanup
pids=()
port=7101
for f in $fills; do
	start_sim "fill$f" "$f" "$port"
	port=$((port + 10))
done
for r in $(seq "$rounds"); do
	for f in $fills; do
		echo "== fill $f round $r: sessions8 with receipt lag"
		"$bin" load --target "$work/fill$f.yaml" --server-pid "$(cat "$work/fill$f.pid")" ${flags[sessions8]} --receipt-lag \
			--json "$work/results/fill-$f-r$r.json" 2>/dev/null | sed 's/^/   /' || true
	done
done
for f in $fills; do
	if [ "$burst" != 0 ] && { [ "$f" = "$(echo $fills | cut -d' ' -f1)" ] || [ "$f" = "$(echo $fills | awk '{print $NF}')" ]; }; then
		echo "== fill $f: burst of $burst uploads (16 at a time) with receipt lag"
		"$bin" load --target "$work/fill$f.yaml" --server-pid "$(cat "$work/fill$f.pid")" --scenario sessions --concurrency 16 \
			--count "$burst" --duration 600s --receipt-lag --json "$work/results/burst-$f.json" 2>/dev/null | sed 's/^/   /' || true
	fi
done
cleanup

python3 "$repo/scripts/bench-summary.py" "$work" | tee "$work/summary.md"
echo "results in $work (results/*.json, summary.md, machine.txt; the peers' data is deleted when the bench ends)"
