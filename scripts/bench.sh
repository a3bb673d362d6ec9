#!/usr/bin/env bash
# Side-by-side benchmark: stock vsftpd (Debian's) and the ftpsgw simulator under the same
# `ftpsgw load` scenarios, alternately (vsftpd, simulator, vsftpd, simulator, ...) for ROUNDS
# rounds, then the median of each and the ratio. Both use the project's ECDSA P-256 PKI with
# mutual TLS 1.2 and ECDHE-ECDSA-AES128-GCM-SHA256, both write to the same disk, both run on
# loopback with the load generator on the same machine.
#
# Needs root (installs vsftpd if missing, creates the local user ftpsgwtest). Listens on
# 127.0.0.1 only. Usage: sudo scripts/bench.sh        (ROUNDS=3 SCENARIOS="sessions upload256")
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
scenarios=${SCENARIOS:-"sessions upload256 idle1000 upload200 mixed"}
work=${WORK:-$(mktemp -d /tmp/ftpsgw-bench-XXXXXX)}
mkdir -p "$work/results"
. "$repo/scripts/vsftpd-setup.sh" FTPSGW.Heartbeat
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
pasv_min_port=37000
pasv_max_port=37999
pasv_address=127.0.0.1
max_clients=0
max_per_ip=0
idle_session_timeout=600
data_connection_timeout=600
ssl_enable=YES
# vsftpd 3.0.3 has no ssl_tlsv1_2 switch: ssl_tlsv1 allows TLS 1.0 and later; the client
# pins TLS 1.2, the cipher list pins the suite.
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
cat > "$work/vsftpd.yaml" <<YAML
name: stock vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null || echo unknown)
address: 127.0.0.1:2121
ca: pki/ca/bundle.pem
server_name: localhost
passive_ports: 37000-37999
identities:
  - name: moces
    cert: pki/clients/moces/chain.pem
    key: pki/clients/moces/key.pem
    username: ftpsgwtest
    password: \${VSFTPD_PASSWORD}
    folders: [FTPSGW.Heartbeat]
YAML

vsftpd "$work/vsftpd.conf" &
vpid=$!
trap 'kill $vpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2121) 2>/dev/null && break; sleep 0.1; done
kill -0 $vpid 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/2121) 2>/dev/null || {
	echo "vsftpd did not start; its error goes to fd 0: strace -f -e trace=write vsftpd $work/vsftpd.conf" >&2; exit 1; }

# scenario -> ftpsgw load flags
declare -A flags=(
	[sessions]="--scenario sessions --concurrency 8 --duration 10s"
	[upload256]="--scenario upload --concurrency 1 --count 4 --size 256MiB --duration 120s"
	[idle1000]="--scenario idle --concurrency 1000 --duration 15s"
	[upload200]="--scenario upload --concurrency 200 --size 1MiB --duration 15s"
	[mixed]="--scenario mixed --concurrency 8 --size 4KiB --duration 10s"
)
{
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
	echo "kernel: $(uname -r); disk: $(df -hT /tmp | awk 'NR==2 {print $2" on "$1}')"
	echo "go: $(go version | cut -d' ' -f3); ftpsgw: $("$bin" version); vsftpd: $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null)"
	echo "rounds: $rounds; scenarios: $scenarios"
} | tee "$work/machine.txt"
for r in $(seq "$rounds"); do
	for s in $scenarios; do
		[ -n "${flags[$s]:-}" ] || { echo "unknown scenario $s" >&2; exit 2; }
		echo "== round $r $s: vsftpd"
		rm -rf "${home:?}/FTPSGW.Heartbeat/"* 2>/dev/null || true
		sync # no writeback of the previous run's files during this one
		VSFTPD_PASSWORD=$password "$bin" load --target "$work/vsftpd.yaml" --server-pid "$vpid" ${flags[$s]} \
			--json "$work/results/$s-vsftpd-$r.json" 2>/dev/null | sed 's/^/   /' || echo "   (errors: see the table)"
		rm -rf "${home:?}/FTPSGW.Heartbeat/"* 2>/dev/null || true
		sync
		echo "== round $r $s: simulator"
		"$bin" load ${flags[$s]} --json "$work/results/$s-simulator-$r.json" 2>/dev/null | sed 's/^/   /' || echo "   (errors: see the table)"
	done
done
python3 - "$work" $scenarios <<'PY' | tee "$work/summary.md"
import json, statistics, sys, glob, os
work, scen = sys.argv[1], sys.argv[2:]
print("| scenario | metric | vsftpd (median) | simulator (median) | ratio sim/vsftpd | errors v/s | server memory peak (PSS) v/s (MiB) | server CPU v/s (s) |")
print("|---|---|---|---|---|---|---|---|")
for s in scen:
    res = {}
    for srv in ("vsftpd", "simulator"):
        res[srv] = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/results/{s}-{srv}-*.json"))]
    if not res["vsftpd"] or not res["simulator"]:
        continue
    metric = "mb_per_s" if s.startswith("upload") else ("held_peak" if s.startswith("idle") else "ops_per_s")
    med = {k: statistics.median(r[metric] for r in v) for k, v in res.items()}
    errs = {k: sum(r["error_count"] for r in v) for k, v in res.items()}
    rss = {k: statistics.median(r.get("server_mem_peak_bytes", 0) for r in v) / 2**20 for k, v in res.items()}
    cpu = {k: statistics.median(r.get("server_cpu_s", 0) for r in v) for k, v in res.items()}
    p50 = {k: statistics.median(r["p50_ms"] for r in v) for k, v in res.items()}
    ratio = med["simulator"] / med["vsftpd"] if med["vsftpd"] else float("inf")
    print(f"| {s} | {metric} (p50 ms v/s: {p50['vsftpd']:.1f}/{p50['simulator']:.1f}) | {med['vsftpd']:.1f} | {med['simulator']:.1f} | {ratio:.2f}x | {errs['vsftpd']}/{errs['simulator']} | {rss['vsftpd']:.0f}/{rss['simulator']:.0f} | {cpu['vsftpd']:.1f}/{cpu['simulator']:.1f} |")
PY
echo "results in $work (results/*.json, summary.md, machine.txt)"
