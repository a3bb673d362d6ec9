#!/usr/bin/env bash
# make bench: scripts/bench.sh twice, one run with every data folder on the disk (the folder
# of this checkout's file system, /var/tmp) and one on tmpfs (/dev/shm), then one summary:
# the targets side by side, then each run's tables. Same knobs as scripts/bench.sh (ROUNDS,
# SCENARIOS, FILLS, BURST, MIXED, POWER, VSFTPD, WARM, FTPSGW_SFTPGO).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
disk=${DISK_WORK:-$(mktemp -d /var/tmp/ftpsgw-bench-disk-XXXXXX)}
[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || { echo "no tmpfs at /dev/shm" >&2; exit 2; }
# On tmpfs what the peers store is memory: the simulator keeps every submission (a gateway
# must), about 2 GiB a round for upload1 (two instances) and 1 GiB for upload8. Refuse a run
# that would not fit instead of letting the kernel kill processes half-way.
need=1280 # MiB: the memory warmed before an upload run, plus the fills' small files
case " ${SCENARIOS:-upload1 upload8} " in *" upload1 "*) need=$((need + ${ROUNDS:-3} * 2048)) ;; esac
case " ${SCENARIOS:-upload1 upload8} " in *" upload8 "*) need=$((need + ${ROUNDS:-3} * 1024)) ;; esac
have=$(df --output=avail -m /dev/shm | tail -1)
mem=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
[ "$mem" -lt "$have" ] && have=$mem
if [ "$have" -lt $((need + 1024)) ]; then
	echo "the tmpfs run needs about $need MiB of memory and /dev/shm can take $have MiB: free memory (leftovers of earlier runs: /dev/shm/ftpsgw-bench-*) or lower ROUNDS" >&2
	exit 2
fi
tmpfs=${TMPFS_WORK:-$(mktemp -d /dev/shm/ftpsgw-bench-tmpfs-XXXXXX)}
mkdir -p "$disk" "$tmpfs"
echo "== on the disk: $disk ($(stat -f -c %T "$disk"))"
WORK=$disk "$repo/scripts/bench.sh" | sed 's/^/  disk  /'
echo "== on tmpfs: $tmpfs"
WORK=$tmpfs "$repo/scripts/bench.sh" | sed 's/^/  tmpfs /'
python3 "$repo/scripts/bench-summary.py" --both "$disk" "$tmpfs" | tee "$disk/summary-both.md"
echo "results in $disk and $tmpfs; the summary in $disk/summary-both.md"
