"""Two notebooks on one project file: single writes, two writers plus a polling reader, stale waiters.

Run: ``.venv/bin/python benchmarks/concurrency.py`` (``--quick`` for a CI-sized run).

1. ``add_instance`` median in one process, and the store's own share of it (one small INSERT through
   ``store.transaction()``, with and without the checkpoint that keeps the ``.duckdb`` file complete).
2. Two writer processes each writing single instances for ``--seconds`` while a third process runs
   ``instances().count()`` every 50 ms: writes/s of each writer, the reader's latency p50/p95.
   Run through the public API (``add_instance``) and through the store alone (the same one-row
   write, so the numbers separate the hand-off from the Python cost of ``add_instance``), and with
   what a user would write instead, in the same run: a plain DuckDB connection per operation with a
   retry on the lock conflict, and SQLite in WAL mode.
3. Stale waiters: the median read with a leftover ``<file>.waiting/<pid>`` file of a live pid and a
   leftover (unlocked) queue token, against the clean median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
from PIL import Image

import nblabel as nl

# a child process: sets up, says "ready", waits for the start time on stdin, works for `seconds`, prints JSON {"writes": n} or {"lat": [...]}
CHILD = textwrap.dedent("""
    import faulthandler, json, os, sys, time
    faulthandler.enable()
    mode, path, who, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    if mode.startswith("nbl"):
        import nblabel as nl
        if "nockpt" in mode:  # measure what the per-write checkpoint costs under contention
            nl.store.Store.checkpoint_each_write = False
        turns = [0]
        try:  # count how many times this process takes the file (its turns)
            from nblabel.store._lock import FileLock as _L
            _name = "acquire"
        except ImportError:  # nblabel before 0.x (the "before" run): the lock lived in Store
            from nblabel.store import Store as _L
            _name = "_acquire_file_lock"
        _orig = getattr(_L, _name)
        def counting(self, *a, **k):
            turns[0] += 1
            return _orig(self, *a, **k)
        setattr(_L, _name, counting)
        p = nl.open(path, author=who)
        p.instances().count()
        p.store.release()
    elif mode.startswith("duckdb"):
        import duckdb
        def connect(read_only=False):
            while True:
                try:
                    return duckdb.connect(path, read_only=read_only)
                except duckdb.IOException as e:  # "Could not set lock on file": retry
                    if "lock" not in str(e).lower():
                        raise
                    time.sleep(0.001)
    else:
        import sqlite3
        con = sqlite3.connect(path, timeout=60, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
    print("ready", flush=True)
    start = float(sys.stdin.readline())  # the parent sends the start time once every child is ready
    while time.time() < start:
        time.sleep(0.001)
    if mode.startswith("nbl"):
        turns[0] = 0
    end = start + seconds
    n, lat = 0, []
    while time.time() < end:
        t = time.perf_counter()
        if mode.startswith("nbl-api") and mode.endswith("-write"):
            p.add_instance(1, "car", box=[1, 1, 5 + n % 50, 5])
        elif mode.startswith("nbl-store") and mode.endswith("-write"):
            with p.store.transaction() as con:
                con.execute("INSERT INTO meta VALUES (?, 'x')", [f"{who}-{n}"])
        elif mode == "nbl-read":
            p.instances().count()
        elif mode == "duckdb-write":
            c = connect()
            c.execute("INSERT INTO t VALUES (?, ?)", [who, n])
            c.close()
        elif mode == "duckdb-read":
            c = connect(read_only=True)
            c.execute("SELECT count(*) FROM t").fetchall()
            c.close()
        elif mode == "sqlite-write":
            con.execute("INSERT INTO t VALUES (?, ?)", [who, n])
        elif mode == "sqlite-read":
            con.execute("SELECT count(*) FROM t").fetchall()
        if mode.endswith("read"):
            lat.append(time.perf_counter() - t)
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t)))
        n += 1
    print(json.dumps({"writes": n, "lat": lat, "turns": turns[0] if mode.startswith("nbl") else n}), flush=True)
""")


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.duckdb"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(folder / "a.png")
    p = nl.open(path)
    p.add_images([folder / "a.png"])
    p.schema.add_label("car")
    p.store.release()
    return path


def median_ms(fn, n: int) -> float:
    ts = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def single_process(folder: Path, n: int) -> dict[str, float]:
    path = make_project(folder / "single")
    out = {}
    p = nl.open(path)
    for i in range(10):  # warm: the connection is open and lingering from here on
        p.add_instance(1, "car", box=[1, 1, 5 + i, 5])
    out["add_instance"] = median_ms(lambda i: p.add_instance(1, "car", box=[1, 1, 5 + i % 50, 5]), n)

    def store_write(i):
        with p.store.transaction() as con:
            con.execute("INSERT INTO meta VALUES (?, 'x')", [f"s{i}-{time.perf_counter_ns()}"])

    out["store_write"] = median_ms(store_write, n)
    p.store.checkpoint_each_write = False
    out["store_write_no_ckpt"] = median_ms(store_write, n)
    p.store.checkpoint_each_write = True
    out["store_read"] = median_ms(lambda i: p.instances().count(), n)
    p.store.release()
    return out


def contended(folder: Path, kind: str, seconds: float) -> dict[str, float]:
    """Two writers + a reader polling every 50 ms, all three separate processes."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind.startswith("nbl"):
        path = make_project(folder)
        modes = [kind + "-write"] * 2 + ["nbl-read"]
    elif kind == "duckdb":
        path = folder / "plain.duckdb"
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE t (who VARCHAR, n INTEGER)")
        con.close()
        modes = ["duckdb-write"] * 2 + ["duckdb-read"]
    else:
        import sqlite3

        path = folder / "plain.sqlite"
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (who VARCHAR, n INTEGER)")
        con.commit()
        con.close()
        modes = ["sqlite-write"] * 2 + ["sqlite-read"]
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, m, str(path), f"w{i}", str(seconds)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, m in enumerate(modes)]
    for pr in procs:
        line = pr.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"{kind} child failed to start:\n{pr.stderr.read()[-3000:]}")
    start = f"{time.time() + 0.5}\n"
    res = []
    for pr in procs:
        pr.stdin.write(start)
        pr.stdin.flush()
    for pr in procs:
        out, err = pr.communicate(timeout=seconds + 300)
        if pr.returncode != 0:
            raise SystemExit(f"{kind} child {pr.args[3]} failed:\n{err[-3000:]}")
        res.append(json.loads(out))
    lat = np.array(res[2]["lat"]) * 1000
    r = {"w1": res[0]["writes"] / seconds, "w2": res[1]["writes"] / seconds,
         "read_p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
         "read_p95": float(np.percentile(lat, 95)) if len(lat) else float("nan"), "reads": len(lat),
         "per_turn": (res[0]["writes"] + res[1]["writes"]) / max(res[0]["turns"] + res[1]["turns"], 1)}
    if kind == "nbl-api":  # nothing lost: every acknowledged write is in the file
        p = nl.open(path)
        r["stored"] = p.instances().count()
        p.store.release()
        r["acked"] = res[0]["writes"] + res[1]["writes"]
    return r


def stale_waiters(folder: Path, n: int) -> dict[str, float]:
    path = make_project(folder / "stale")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        p = nl.open(path)
        p.store.release()
        clean = median_ms(lambda i: (p.instances().count(), p.store.release()), n)
        wait = Path(str(path) + ".waiting")
        wait.mkdir(exist_ok=True)
        (wait / str(sleeper.pid)).touch()  # an old-style waiter file whose pid is alive
        (wait / f"{time.monotonic_ns():020d}-{sleeper.pid}-0.token").touch()  # a token nobody holds
        stale = median_ms(lambda i: (p.instances().count(), p.store.release()), n)
        left = sorted(os.listdir(wait))
    finally:
        sleeper.kill()
        sleeper.wait()
    return {"clean": clean, "stale": stale, "left": len(left)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--only", default="", help="comma-separated parts to run: single, nbl-api, nbl-store, "
                    "nbl-store-nockpt, duckdb, sqlite, stale (default: all); for paired rounds against another checkout")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    seconds = 2.0 if a.quick else a.seconds
    n = 30 if a.quick else a.repeat
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="nbl-conc-"))

    if not only or "single" in only:
        single_report(work, n)
    kinds = [k for k in ("nbl-api", "nbl-store", "nbl-store-nockpt", "duckdb", "sqlite") if not only or k in only]
    if kinds:
        contended_report(work, kinds, seconds)
    if not only or "stale" in only:
        stale_report(work, n)


def single_report(work: Path, n: int) -> None:
    s = single_process(work, n)
    print(f"[single] add_instance median {s['add_instance']:.2f} ms | store share: one-row write "
          f"{s['store_write']:.2f} ms with checkpoint, {s['store_write_no_ckpt']:.2f} ms without "
          f"(checkpoint costs {s['store_write'] - s['store_write_no_ckpt']:.2f} ms) | "
          f"instances().count() {s['store_read']:.2f} ms  (median of {n})")


def contended_report(work: Path, kinds: list[str], seconds: float) -> None:
    res = {k: contended(work / k, k, seconds) for k in kinds}
    base = res.get("duckdb")
    for k in kinds:
        r = res[k]
        extra = f" | acked {r['acked']}, stored {r['stored']}" if "acked" in r else ""
        ratio = "" if k == "duckdb" or base is None else (f" | vs plain duckdb: writes {(r['w1'] + r['w2']) / max(base['w1'] + base['w2'], 1e-9):.2f}x, "
                                          f"read p95 {base['read_p95'] / r['read_p95']:.2f}x faster")
        print(f"[two writers + reader, {k}] {seconds:.0f} s: writes/s {r['w1']:.1f} and {r['w2']:.1f}; reader every 50 ms "
              f"p50 {r['read_p50']:.1f} ms p95 {r['read_p95']:.1f} ms ({r['reads']} reads); {r['per_turn']:.1f} writes "
              f"per hand-off{ratio}{extra}")
        if "acked" in r and r["stored"] != r["acked"]:
            raise SystemExit(f"lost writes: {r['acked']} acknowledged, {r['stored']} stored")


def stale_report(work: Path, n: int) -> None:
    st = stale_waiters(work, n)
    print(f"[stale waiters] take the file + count + let go, median {st['clean']:.2f} ms clean, {st['stale']:.2f} ms with a live-pid "
          f"waiter file and an unlocked token ({st['stale'] / st['clean']:.2f}x); files left in .waiting/: {st['left']}")


if __name__ == "__main__":
    main()
