#!/usr/bin/env python3
"""ftpsgw client-certification adapter around Python's ftplib (reference). Same contract as
curl.sh (README, "The adapter contract"): python-ftplib.py upload FILE FOLDER | ... receipts DIR.
(Not named ftplib.py: that would shadow the module it imports.)

It checks the gateway's certificate and host name against FTPSGW_CA, speaks TLS 1.2 only,
presents FTPSGW_CERT/FTPSGW_KEY, resumes the control connection's TLS session on data
connections, closes each upload with TLS close_notify, keeps the names it submitted in
FTPSGW_STATE_DIR and retries a dropped connection. Exit 0 done, 127 unsupported, else failure.
"""
import ftplib
import os
import ssl
import sys
import time

env = os.environ
ctx = ssl.create_default_context(cafile=env["FTPSGW_CA"])
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(env["FTPSGW_CERT"], env["FTPSGW_KEY"])


class GatewayFTP(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def connect():
    f = GatewayFTP(context=ctx, timeout=20)
    f.connect(env["FTPSGW_HOST"], int(env["FTPSGW_PORT"]))
    f.auth()
    f.login(env["FTPSGW_USERNAME"], env["FTPSGW_PASSWORD"])
    f.prot_p()
    return f


def store(f, cmd, data, ascii):
    f.voidcmd("TYPE A" if ascii else "TYPE I")
    if ascii:
        data = b"\r\n".join(data.replace(b"\r\n", b"\n").split(b"\n"))
    conn = f.transfercmd(cmd)
    try:
        conn.sendall(data)
        conn.unwrap()  # TLS close_notify: the end of the file, not a truncation
    finally:
        conn.close()
    f.voidresp()


def with_retries(action):
    for attempt in range(1, 4):
        try:
            return action()
        except ssl.SSLCertVerificationError:
            raise  # never retry an impostor
        except (ftplib.error_temp, OSError, EOFError) as e:
            print(f"attempt {attempt} failed: {e}; retrying", file=sys.stderr)
            time.sleep(1)
    sys.exit("giving up after 3 attempts")


state = os.path.join(env.get("FTPSGW_STATE_DIR", "."), "submitted")
action = sys.argv[1] if len(sys.argv) > 1 else ""
if action == "upload":
    path, folder = sys.argv[2], sys.argv[3]
    name = os.path.basename(path)
    if os.path.exists(state) and name in open(state).read().split():
        sys.exit(f"refusing: {name} was submitted before; the gateway never accepts a name twice")
    data = open(path, "rb").read()

    def upload():
        f = connect()
        store(f, f"STOR /{folder}/{name}", data, env.get("FTPSGW_FORMAT") == "fixed-record")
        f.quit()

    with_retries(upload)
    with open(state, "a") as s:
        s.write(name + "\n")
    print(f"uploaded {name} to {folder}")
elif action == "receipts":
    folder = sys.argv[2]

    def fetch():
        f = connect()
        names = [os.path.basename(n) for n in f.nlst("/out")]
        for n in names:
            with open(os.path.join(folder, n), "wb") as out:
                f.retrbinary(f"RETR /out/{n}", out.write)
        f.quit()
        return names

    print(f"fetched {len(with_retries(fetch))} file(s) from /out")
else:
    print(f"unsupported action: {action}", file=sys.stderr)
    sys.exit(127)
