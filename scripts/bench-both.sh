#!/usr/bin/env bash
# make bench: scripts/bench.sh twice, one run with every data folder on the disk (the folder
# of this checkout's file system, /var/tmp) and one on tmpfs (/dev/shm), then one summary:
# the targets side by side, then each run's tables. Same knobs as scripts/bench.sh (ROUNDS,
# SCENARIOS, FILLS, BURST, MIXED, POWER, VSFTPD, WARM, FTPSGW_SFTPGO).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
disk=${DISK_WORK:-$(mktemp -d /var/tmp/ftpsgw-bench-disk-XXXXXX)}
[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || { echo "no tmpfs at /dev/shm" >&2; exit 2; }
tmpfs=${TMPFS_WORK:-$(mktemp -d /dev/shm/ftpsgw-bench-tmpfs-XXXXXX)}
mkdir -p "$disk" "$tmpfs"
echo "== on the disk: $disk ($(stat -f -c %T "$disk"))"
WORK=$disk "$repo/scripts/bench.sh" | sed 's/^/  disk  /'
echo "== on tmpfs: $tmpfs"
WORK=$tmpfs "$repo/scripts/bench.sh" | sed 's/^/  tmpfs /'
python3 "$repo/scripts/bench-summary.py" --both "$disk" "$tmpfs" | tee "$disk/summary-both.md"
echo "results in $disk and $tmpfs; the summary in $disk/summary-both.md"
