#!/usr/bin/env bash
# Proves that .ci/run works on a truly fresh machine: a minimal Debian root made with
# debootstrap (--variant=minbase: no make, no compiler, no git, no CA certificates, no curl),
# with only Go copied in, runs `CI=true .ci/run` on a clean clone of this checkout.
# Root only. Usage: scripts/debootstrap-ci.sh [ROOT_DIR]   (default /srv/ftpsgw-deb)
# The Docker socket is bound in so the container tests run too, as on the CI machines.
set -euo pipefail
root=${1:-/srv/ftpsgw-deb}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$root/bin/bash" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
	debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
rm -rf "$root/usr/local/go" "$root/root/ftpsgw"
cp -a "$(go env GOROOT)" "$root/usr/local/go"
git clone -q "$repo" "$root/root/ftpsgw"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own local CAs (here: the sandbox's egress CA, which every machine of this
# workplace trusts for HTTPS); .ci/run's ca-certificates install picks them up.
mkdir -p "$root/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$root/$m"
	mounts=("$root/$m" "${mounts[@]}")
done
if [ -S /var/run/docker.sock ]; then
	# $root/var/run is a symlink to /run: bind onto the root's own /run, never the host's
	mkdir -p "$root/run"
	touch "$root/run/docker.sock"
	mount --bind /var/run/docker.sock "$root/run/docker.sock"
	mounts=("$root/run/docker.sock" "${mounts[@]}")
fi
echo "debootstrap-ci: before: $(chroot "$root" sh -c 'for t in make gcc git curl lftp openssl xmllint chromium; do command -v $t >/dev/null && printf "%s " $t; done; echo') (tools present)"
chroot "$root" /usr/bin/env -i PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root CI=true TESTCONTAINERS_RYUK_DISABLED=true bash -c 'cd /root/ftpsgw && time .ci/run'
