#!/usr/bin/env bash
# Certifies a stock vsftpd (Debian's) with a hand-written target profile, as a new user would:
# the acceptance check of the conformance suite against a gateway that is NOT SKAT's. Expect
# exit 1 with GW-TLS-01 FAILED (vsftpd also speaks TLS 1.3) and every @needs-control scenario
# UNSUPPORTED (vsftpd has no control API). Needs root (creates the local user ftpsgwtest and
# installs vsftpd if missing); listens on 127.0.0.1:2121 only. Usage: sudo scripts/vsftpd-acceptance.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d /tmp/ftpsgw-vsftpd-XXXXXX)}
. "$repo/scripts/vsftpd-setup.sh" FTPSGW.Heartbeat eKapital.Rente.Udlaan
cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=2121
background=YES
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_enable=YES
pasv_min_port=36000
pasv_max_port=36100
pasv_address=127.0.0.1
ssl_enable=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_cert=YES
validate_cert=YES
ca_certs_file=$work/pki/ca/bundle.pem
rsa_cert_file=$work/pki/server/chain.pem
rsa_private_key_file=$work/pki/server/key.pem
ssl_ciphers=HIGH
require_ssl_reuse=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
CONF
pkill -f "vsftpd $work/vsftpd.conf" 2>/dev/null || true
vsftpd "$work/vsftpd.conf"
trap 'pkill -f "vsftpd $work/vsftpd.conf" || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2121) 2>/dev/null && break; sleep 0.1; done
cat > "$work/target.yaml" <<YAML
name: stock vsftpd ($(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null || echo unknown))
address: 127.0.0.1:2121
ca: pki/ca/bundle.pem
server_name: localhost
identities:
  - name: moces
    cert: pki/clients/moces/chain.pem
    key: pki/clients/moces/key.pem
    username: ftpsgwtest
    password: \${VSFTPD_PASSWORD}
    folders: [FTPSGW.Heartbeat, eKapital.Rente.Udlaan]
timeouts:
  receipt: 5s
YAML
set +e
VSFTPD_PASSWORD=$password "$bin" certify --target "$work/target.yaml" --report "$work/report" 2>"$work/progress.txt" | tee "$work/summary.txt"
code=${PIPESTATUS[0]}
set -e
echo "ftpsgw certify exited $code; reports in $work/report"
ok=1
[ "$code" -ne 0 ] || { echo "UNEXPECTED: exit 0"; ok=0; }
grep -qE '^\s+FAIL\s+GW-TLS-01' "$work/summary.txt" || { echo "UNEXPECTED: GW-TLS-01 not FAILED"; ok=0; }
for id in GW-AUTH-03 GW-DIR-02 GW-STAT-03 GW-BACK-01 GW-BACK-02; do
	grep -qE "^\s+UNSUPPORTED\s+$id" "$work/summary.txt" || { echo "UNEXPECTED: $id not UNSUPPORTED"; ok=0; }
done
[ "$ok" = 1 ] && echo "vsftpd acceptance: as expected (non-zero exit, GW-TLS-01 FAILED, @needs-control UNSUPPORTED)"
[ "$ok" = 1 ]
