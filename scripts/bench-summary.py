#!/usr/bin/env python3
"""Summary of a scripts/bench.sh run: the median of every figure over the rounds, with the
simulator's ratio to SFTPGo and to vsftpd, the targets beside them, and the
simulator's figures at each history size. Reads WORK/results/*.json; writes Markdown.
With two folders (bench-summary.py --both DISK TMPFS) it prints the targets of both side by
side first, then each summary."""
import glob
import json
import os
import re
import statistics
import sys

if sys.argv[1] == "--both":
    import subprocess
    here = os.path.abspath(__file__)
    disk_dir, tmpfs_dir = sys.argv[2], sys.argv[3]

    def load(d, pattern):
        return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, "results", pattern)))]

    def m(d, scen, peer, key):
        vals = [r[key] for r in load(d, f"{scen}-{peer}-*.json") if r.get(key)]
        return statistics.median(vals) if vals else None

    def fillratio(d):
        rs = {f: [r["ops_per_s"] for r in load(d, f"fill-{f}-r*.json")] for f in (0, 200000)}
        if not rs[0] or not rs[200000]:
            return None
        return statistics.median(rs[200000]) / statistics.median(rs[0])

    rows = [("sessions/s c=8, ftpsgw / SFTPGo", lambda d: (m(d, "sessions8", "simulator", "ops_per_s"), m(d, "sessions8", "sftpgo", "ops_per_s")), 1.1, True),
            ("sessions/s c=32, ftpsgw / SFTPGo", lambda d: (m(d, "sessions32", "simulator", "ops_per_s"), m(d, "sessions32", "sftpgo", "ops_per_s")), 1.1, True),
            ("256 MiB one stream, ftpsgw / SFTPGo", lambda d: (m(d, "upload1", "simulator", "mb_per_s"), m(d, "upload1", "sftpgo", "mb_per_s")), 1.0, False),
            ("8 × 64 MiB at once, ftpsgw / SFTPGo", lambda d: (m(d, "upload8", "simulator", "mb_per_s"), m(d, "upload8", "sftpgo", "mb_per_s")), 0.9, False),
            ("256 MiB one stream, durability power / dd with fsync", lambda d: (m(d, "upload1", "power", "mb_per_s"), m(d, "upload1", "disk", "mb_per_s")), 0.9, True),
            ("8 × 64 MiB at once, durability power / dd with fsync", lambda d: (m(d, "upload8", "power", "mb_per_s"), m(d, "upload8", "disk", "mb_per_s")), 0.9, True),
            ("sessions/s at 200,000 receipts kept / empty store", lambda d: (fillratio(d), 1.0), 0.95, True)]
    print("## Targets, on the disk and on tmpfs (medians of the rounds; ratio above 1× is ftpsgw's advantage)\n")
    print("| figure | disk: values | disk: ratio | tmpfs: values | tmpfs: ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for title, fn, target, ext4_only in rows:
        cells, met = [], []
        for d in (disk_dir, tmpfs_dir):
            a, b = fn(d)
            if a is None or b is None:
                cells += ["—", "—"]
                continue
            r = a / b
            cells += [f"{a:,.1f} / {b:,.1f}" if b != 1.0 else f"{a:.3f}", f"{r:.2f}×"]
            if d == disk_dir or not ext4_only:
                met.append(r >= target)
        verdict = "—" if not met else ("met" if all(met) else "MISSED")
        scope = " (disk)" if ext4_only else ""
        print(f"| {title} | {' | '.join(cells)} | ≥ {target}×{scope} | {verdict} |")
    for title, d in (("On the disk", disk_dir), ("On tmpfs", tmpfs_dir)):
        print(f"\n## {title}\n")
        sys.stdout.flush()
        subprocess.run([sys.executable, here, d], check=False)
    sys.exit(0)

work = sys.argv[1]
res = os.path.join(work, "results")


def runs(pattern):
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(res, pattern)))]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, unit=""):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    return f"{v:.1f}{unit}" if abs(v) >= 10 else f"{v:.2f}{unit}"


def ratio(a, b, lower_is_better=False):
    if a is None or b is None or a == 0 or b == 0:
        return "—"
    return f"{(b / a if lower_is_better else a / b):.2f}×"


peers = [p for p in ("simulator", "power", "sftpgo", "vsftpd") if glob.glob(os.path.join(res, f"*-{p}-*.json"))]
names = {"simulator": "ftpsgw", "power": "ftpsgw (durability power)", "sftpgo": "SFTPGo", "vsftpd": "vsftpd"}

# figure -> (scenario, how to compute it from one run, unit, lower is better, target vs SFTPGo)
def per_session_cpu(r):
    return 1000 * r["server_cpu_s"] / r["ops"] if r.get("ops") and r.get("server_cpu_s") else None


def errors(r):
    return r.get("error_count", 0)


figures = [
    ("sessions/s, c=8", "sessions8", lambda r: r["ops_per_s"], "", False, 1.1),
    ("server CPU per session, c=8", "sessions8", per_session_cpu, " ms", True, None),
    ("sessions/s, c=32", "sessions32", lambda r: r["ops_per_s"], "", False, 1.1),
    ("server CPU per session, c=32", "sessions32", per_session_cpu, " ms", True, None),
    ("256 MiB, one stream (MB/s)", "upload1", lambda r: r["mb_per_s"], "", False, 1.0),
    ("8 × 64 MiB at once (MB/s)", "upload8", lambda r: r["mb_per_s"], "", False, 0.9),
    ("1,000 idle sessions: time to log in all (s)", "idle1000", lambda r: r["max_ms"] / 1000 if r.get("held_peak") == 1000 else None, "", True, None),
    ("1,000 idle sessions: server PSS (MiB)", "idle1000", lambda r: r.get("server_mem_peak_bytes", 0) / 2**20 or None, "", True, None),
    ("LIST /out with 50,000 entries, p50 (ms)", "list50k", lambda r: r["p50_ms"] if r.get("entries", 0) >= 50000 else None, "", True, None),
    ("mixed run: server PSS peak (MiB)", "mixed", lambda r: r.get("server_mem_peak_bytes", 0) / 2**20 or None, "", True, None),
    ("RSS after the mixed run (MiB; vsftpd: its listener only)", "rssafter", lambda r: r["rss_bytes"] / 2**20, "", True, 1 / 1.2),
]
print(open(os.path.join(work, "machine.txt")).read().strip().replace("\n", "  \n"))
print()
head = "| figure | " + " | ".join(names[p] for p in peers)
if "sftpgo" in peers:
    head += " | ftpsgw / SFTPGo | target"
if "vsftpd" in peers:
    head += " | ftpsgw / vsftpd"
print(head + " | errors (" + "/".join(names[p] for p in peers) + ") |")
print("|" + "---|" * (head.count("|") + 1))
for title, scen, fn, unit, lower, target in figures:
    vals, errs = {}, {}
    for p in peers:
        rs = runs(f"{scen}-{p}-*.json")
        vals[p] = med([fn(r) for r in rs]) if rs else None
        errs[p] = sum(errors(r) for r in rs) if rs else "—"
    if all(v is None for v in vals.values()):
        continue
    row = f"| {title} | " + " | ".join(fmt(vals[p], unit) for p in peers)
    if "sftpgo" in peers:
        r = ratio(vals.get("simulator"), vals.get("sftpgo"), lower)
        met = ""
        if target is not None and r != "—":
            met = ("met" if float(r[:-1]) >= target else "MISSED") + f" (≥ {target:.2g}×)"
        elif title.startswith("LIST") and "vsftpd" in peers and vals.get("vsftpd") and vals.get("simulator"):
            met = ("met" if vals["simulator"] <= vals["vsftpd"] else "MISSED") + " (≤ vsftpd)"
        row += f" | {r} | {met}"
    if "vsftpd" in peers:
        row += f" | {ratio(vals.get('simulator'), vals.get('vsftpd'), lower)}"
    print(row + " | " + "/".join(str(errs[p]) for p in peers) + " |")
disk = [(t, s, med([r["mb_per_s"] for r in runs(f"{s}-disk-*.json")])) for t, s in (("256 MiB, one stream", "upload1"), ("8 × 64 MiB at once", "upload8"))]
disk = [d for d in disk if d[2]]
if disk:
    print("\nWhat the disk itself persists in the same shapes, in the same rounds (dd of random bytes, O_DIRECT in 1 MiB writes, "
          "fsync before it ends; the ceiling of a server that fsyncs before 226, as ftpsgw does and SFTPGo and vsftpd do not):\n")
    print("| shape | disk (MB/s) | ftpsgw, durability power / disk (target ≥ 0.9×) | ftpsgw (process) / disk | SFTPGo / disk |")
    print("|---|---|---|---|---|")
    for title, scen, v in disk:
        pw = med([r["mb_per_s"] for r in runs(f"{scen}-power-*.json")])
        sim, sg = med([r["mb_per_s"] for r in runs(f"{scen}-simulator-*.json")]), med([r["mb_per_s"] for r in runs(f"{scen}-sftpgo-*.json")])
        print(f"| {title} | {fmt(v)} | {ratio(pw, v)} | {ratio(sim, v)} | {ratio(sg, v)} |")
print("\nRatios are ftpsgw's advantage: above 1× ftpsgw is faster (or smaller, for times, CPU and memory).")
jf = os.path.join(res, "journal-after-mixed.json")
if os.path.exists(jf) and os.path.getsize(jf):
    j = json.load(open(jf))
    kept = j["last_seq"] - j["dropped"]
    print(f"\nThe simulator's journal after the mixed run: {j['last_seq']:,} events appended, {kept:,} kept, {j['dropped']:,} dropped"
          + (" (full: the oldest are dropped past its capacity)" if j["dropped"] else " (not full)") + ".")

fills = sorted({int(m.group(1)) for f in glob.glob(os.path.join(res, "fill-*-r*.json")) if (m := re.search(r"fill-(\d+)-r", f))})
if fills:
    print("\n### The simulator with history kept (sessions c=8, 10 s; finished uploads seeded, 2 receipts each)\n")
    print("| uploads kept (receipts in /out) | sessions/s | vs empty | CPU per session | vs empty | status 1 missing at the run's end | last status 1 after the end | errors |")
    print("|---|---|---|---|---|---|---|---|")
    base = None
    for f in fills:
        rs = runs(f"fill-{f}-r*.json")
        rate, cpu = med([r["ops_per_s"] for r in rs]), med([per_session_cpu(r) for r in rs])
        behind, last = med([r.get("receipts_behind_at_end") for r in rs]), med([r.get("receipts_last_s") for r in rs])
        if base is None:
            base = (rate, cpu)
        print(f"| {f:,} ({2 * f:,}) | {fmt(rate)} | {rate / base[0]:.2f}× | {fmt(cpu, ' ms')} | {cpu / base[1]:.2f}× | {fmt(behind)} | {fmt(last, ' s')} | {sum(errors(r) for r in rs)} |")
    print("\nTarget: at 200,000 receipts kept, at least 0.95× of the empty store's rate.")
bursts = sorted(glob.glob(os.path.join(res, "burst-*.json")), key=lambda f: int(re.search(r"burst-(\d+)", f).group(1)))
if bursts:
    print("\n### A burst of uploads (16 sessions at a time, one 64-byte STOR each)\n")
    print("| uploads kept before | uploads | rate | status 1 missing at the burst's end | last status 1 after the end | all arrived | target (≤ 2 s) |")
    print("|---|---|---|---|---|---|---|")
    for f in bursts:
        r = json.load(open(f))
        kept = int(re.search(r"burst-(\d+)", f).group(1))
        last = r.get("receipts_last_s")
        ok = "met" if r.get("receipts_complete") and last is not None and last <= 2 else "MISSED"
        print(f"| {kept:,} | {r['ops']:,} | {r['ops_per_s']:.0f}/s | {r.get('receipts_behind_at_end')} | {fmt(last, ' s')} | {r.get('receipts_complete')} | {ok} |")
