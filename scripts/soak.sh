#!/usr/bin/env bash
# Soak: mixed load (uploads, receipt polling, plus a block of idle sessions) against one
# `ftpsgw serve` for SOAK_TIME (default 10m), sampling the server every SAMPLE seconds: RSS,
# goroutines, open sessions, receipt queue, errors. Fails if anything grows without bound
# (last third of the samples vs the first third after warm-up) or any operation failed.
# Not part of `make test`: `make soak` (SOAK_TIME=2m make soak for a short one).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
soak=${SOAK_TIME:-10m}
sample=${SAMPLE:-15}
work=${WORK:-$(mktemp -d /tmp/ftpsgw-soak-XXXXXX)}
(cd "$repo" && make -s build)
bin=$repo/bin/ftpsgw
cat > "$work/sim.yaml" <<YAML
login: {max_failures: 1000000, window: 15m, lockout: 1s}
limits: {max_sessions: 0, max_sessions_per_address: 0, max_sessions_per_identity: 0}
backend: {default: {action: accept, delay: 1s}}
security: {replication_interval: 10s}
YAML
"$bin" serve --config "$work/sim.yaml" --data "$work/data" --listen 127.0.0.1:0 --passive-ports 0 \
	--control 127.0.0.1:0 --log-level error >"$work/serve.out" 2>"$work/serve.err" &
spid=$!
trap 'kill $spid 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/data/ready.json" ] && break; sleep 0.1; done
ctl=$(python3 -c "import json;print(json.load(open('$work/data/ready.json'))['control_api'])")
ftps=$(python3 -c "import json;print(json.load(open('$work/data/ready.json'))['control'])")
pki=$(python3 -c "import json;print(json.load(open('$work/data/ready.json'))['pki'])")
# A target profile for the running server (the load generator reaches it like any gateway).
python3 - "$pki" "$ftps" "$ctl" > "$work/target.yaml" <<'PY'
import json, sys
pki, addr, ctl = sys.argv[1:]
m = json.load(open(pki + "/manifest.json"))
print(f"name: ftpsgw serve (soak)\naddress: {addr}\nca: {pki}/{m['ca']['bundle']}\nserver_name: localhost\npassive_ports: 1-65535\ncontrol: {{url: {ctl}}}\nidentities:")
for i in m["identities"]:
    if i.get("can_login"):
        print(f"  - {{name: {i['name']}, cert: {pki}/{i['chain']}, key: {pki}/{i['key']}, username: {i['username']}, password: '{i['password']}', folders: {json.dumps(i['roles'])}}}")
PY
echo "soak: $soak against pid $spid ($ftps); samples every ${sample}s in $work/samples.tsv"
"$bin" load --target "$work/target.yaml" --server-pid "$spid" --scenario mixed --concurrency 8 --duration "$soak" --json "$work/mixed.json" >"$work/mixed.txt" 2>/dev/null &
m1=$!
"$bin" load --target "$work/target.yaml" --identity other-company --scenario idle --concurrency 100 --duration "$soak" --json "$work/idle.json" >"$work/idle.txt" 2>/dev/null &
m2=$!
metric() { curl -s "$ctl/metrics" | awk -v k="$1" '$1==k {print $2}'; }
printf "t_s\trss_mib\tgoroutines\tsessions\tqueue\tfds\n" | tee "$work/samples.tsv"
t0=$(date +%s)
while kill -0 $m1 2>/dev/null; do
	rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$spid/status)
	printf "%s\t%s\t%s\t%s\t%s\t%s\n" $(( $(date +%s) - t0 )) "$rss" "$(metric go_goroutines)" "$(metric ftpsgw_sessions_active)" \
		"$(metric ftpsgw_queue_depth)" "$(ls /proc/$spid/fd | wc -l)" | tee -a "$work/samples.tsv"
	sleep "$sample"
done
wait $m1 || true
wait $m2 || true
cat "$work/mixed.txt" "$work/idle.txt"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
rows = [l.split("\t") for l in open(w + "/samples.tsv").read().split("\n")[1:] if l.strip()]
rows = [[float(x or 0) for x in r] for r in rows]
errs = json.load(open(w + "/mixed.json"))["error_count"] + json.load(open(w + "/idle.json"))["error_count"]
ok = errs == 0
if len(rows) >= 6:
    third = len(rows) // 3
    warm = rows[1:1 + third]
    last = rows[-third:]
    for col, name, slack in ((1, "RSS MiB", 1.5), (2, "goroutines", 1.5), (5, "open fds", 1.5)):
        a = max(r[col] for r in warm)
        b = max(r[col] for r in last)
        grows = b > a * slack + 5
        print(f"{name}: first third max {a:.0f}, last third max {b:.0f} -> {'GROWS' if grows else 'bounded'}")
        ok = ok and not grows
else:
    print("too few samples to judge growth (raise SOAK_TIME or lower SAMPLE)")
print(f"errors: {errs}")
print("soak:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
