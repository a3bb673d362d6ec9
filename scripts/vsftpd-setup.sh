# Sourced by vsftpd-acceptance.sh and bench.sh (root): installs vsftpd if missing, builds
# ftpsgw, makes a PKI in $work/pki and the local user ftpsgwtest with a fresh password and
# the folders given as arguments (a PKI already in $work/pki is kept). Sets: bin, password, home. Needs: repo, work.
command -v vsftpd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vsftpd >/dev/null; }
(cd "$repo" && make -s build)
bin=$repo/bin/ftpsgw
[ -f "$work/pki/manifest.json" ] || "$bin" pki init --out "$work/pki" >/dev/null # bench.sh makes an ECDSA one first
password="Vs-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
id ftpsgwtest >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin ftpsgwtest
grep -qx /usr/sbin/nologin /etc/shells || echo /usr/sbin/nologin >> /etc/shells
echo "ftpsgwtest:$password" | chpasswd
home=$(getent passwd ftpsgwtest | cut -d: -f6)
for folder in "$@" out; do mkdir -p "$home/$folder"; done
mkdir -p /var/run/vsftpd/empty
chown -R ftpsgwtest "$home"
