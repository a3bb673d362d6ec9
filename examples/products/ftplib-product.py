#!/usr/bin/env python3
"""A stand-in for a vendor's product, for certify-client --observe, on Python's ftplib: it
knows nothing of ftpsgw but the connection kit. Every INTERVAL seconds it uploads a new
heartbeat file (after a failure under a new name: never a name the gateway may have taken),
lists /out and
fetches the receipts it has not fetched yet; after ROUNDS rounds it finishes the observation.
It checks the gateway's certificate against the kit's CA, speaks TLS 1.2, resumes the control
connection's TLS session on data connections and ends each upload with close_notify.

    KIT=ftpsgw-kit examples/products/ftplib-product.py

PRODUCT_VARIANT makes it misbehave on purpose (the tests): no-resume (full handshakes on data
connections), bare-fin (uploads end with a TCP FIN, no close_notify).
"""
import ftplib
import json
import os
import ssl
import sys
import time
import urllib.request

env = os.environ
kit = env["KIT"]
conn = json.load(open(os.path.join(kit, "connection.json")))
ident = [i for i in conn["identities"] if i["name"] == env.get("PRODUCT_IDENTITY", "moces")][0]
variant = env.get("PRODUCT_VARIANT", "careful")
folder = env.get("PRODUCT_FOLDER", "FTPSGW.Heartbeat")
ctx = ssl.create_default_context(cafile=os.path.join(kit, conn["ca"]))
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(os.path.join(kit, ident["chain"]), os.path.join(kit, ident["key"]))


class Gateway(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        c, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = None if variant == "no-resume" else self.sock.session
            c = self.context.wrap_socket(c, server_hostname=self.host, session=session)
        return c, size


def connect():
    f = Gateway(context=ctx, timeout=20)
    f.connect(conn["host"], int(conn["port"]))
    f.auth()
    f.login(ident["username"], ident["password"])
    f.prot_p()
    return f


def upload(name, data):
    f = connect()
    try:
        f.voidcmd("TYPE I")
        c = f.transfercmd(f"STOR /{folder}/{name}")
        try:
            c.sendall(data)
            if variant != "bare-fin":
                c.unwrap()  # TLS close_notify: the end of the file
        finally:
            c.close()
        f.voidresp()
    finally:
        f.close()


fetched = set()
n = 1
for rnd in range(1, int(env.get("ROUNDS", "30")) + 1):
    name = f"ping_ftplib_{n}.txt"
    try:
        upload(name, f"heartbeat {rnd} from the ftplib product\n".encode())
        print(f"round {rnd}: uploaded {name}", flush=True)
        n += 1
    except (ftplib.Error, OSError, EOFError) as e:
        print(f"round {rnd}: the upload of {name} failed ({e}); trying again next round under a new name", flush=True)
        n += 1
    try:
        f = connect()
        for path in f.nlst("/out"):
            base = os.path.basename(path)
            if base.startswith("status_") and base not in fetched:
                f.retrbinary(f"RETR /out/{base}", lambda b: None)
                fetched.add(base)
        f.quit()
    except (ftplib.Error, OSError, EOFError) as e:
        print(f"round {rnd}: polling /out failed ({e})", flush=True)
    time.sleep(float(env.get("INTERVAL", "1")))
print(f"done: {len(fetched)} receipts fetched; finishing the observation", flush=True)
url = conn["finish"].split()[-1]
urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10).close()
