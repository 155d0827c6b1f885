"""Several processes on one project file, and processes killed mid-write."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import nblabel as nl

WRITER = textwrap.dedent("""
    import sys, pandas as pd, nblabel as nl
    path, who, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    p = nl.open(path, author=who)
    for b in range(batches):
        if size == 1:
            p.add_instance(1, "car", box=[1, 1, 5 + b % 50, 5])
        else:
            df = pd.DataFrame({"media_id": 1, "label": "car", "x0": 1.0, "y0": 1.0,
                               "x1": [5.0 + i for i in range(size)], "y1": 5.0})
            p.add_instances(df, mode="append")  # every batch is the same rows: keep them all
    print("done", flush=True)
""")

READER = textwrap.dedent("""
    import os, sys, time, nblabel as nl
    path, size, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    p = nl.open(path)
    seen, bad = [], []
    t0 = time.time()
    while not os.path.exists(stop) and time.time() - t0 < 300:
        n = p.instances().count()
        seen.append(n)
        if n % size:
            bad.append(n)
        time.sleep(0.01)
    print(len(seen), max(seen), len(bad), flush=True)
""")


@pytest.fixture
def shared(tmp_path, image_dir):
    path = tmp_path / "shared.duckdb"
    p = nl.open(path)
    p.add_images(image_dir)
    p.schema.add_label("car")
    return path


def _spawn(code, *args):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_writers_and_a_reader(shared, tmp_path):
    size = 10
    stop = tmp_path / "stop"
    procs = [_spawn(WRITER, shared, who, 50, size) for who in ("ana", "ben")]
    reader = _spawn(READER, shared, size, stop)
    outs = [pr.communicate(timeout=240) for pr in procs]
    stop.touch()
    for (out, err), pr in zip(outs, procs):
        assert pr.returncode == 0, err
        assert out.strip() == "done"
    rout, rerr = reader.communicate(timeout=60)
    assert reader.returncode == 0, rerr
    n_reads, max_seen, n_partial = map(int, rout.split())
    assert n_reads >= 3  # the reader got the file between writers' transactions
    assert n_partial == 0  # the reader never saw half a batch
    p = nl.open(shared)
    df = p.instances().df()
    assert len(df) == 1000
    assert df["author"].value_counts().to_dict() == {"ana": 500, "ben": 500}
    assert df["instance_id"].is_unique


def test_two_writers_single_instances(shared):
    procs = [_spawn(WRITER, shared, who, 50, 1) for who in ("ana", "ben")]
    for pr in procs:
        _, err = pr.communicate(timeout=180)
        assert pr.returncode == 0, err
    assert nl.open(shared).instances().count() == 100


KILLED = textwrap.dedent("""
    import sys, numpy as np, pandas as pd, nblabel as nl
    p = nl.open(sys.argv[1])
    n = 1_500_000
    df = pd.DataFrame({"media_id": np.ones(n, dtype=np.int64), "label": "car", "x0": 1.0, "y0": 1.0,
                       "x1": 5.0 + np.arange(n) % 50, "y1": 5.0, "score": 0.5})
    print("start", flush=True)
    p.add_instances(df)
    print("finished", flush=True)
""")


def test_killed_mid_import_leaves_project_as_before(shared):
    p = nl.open(shared)
    keep = [p.add_instance(1, "car", box=[1, 1, 9, 9]) for _ in range(3)]
    before = p.instances().df()[["instance_id", "x1"]]
    proc = _spawn(KILLED, shared)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.5)  # well inside the import (it takes several seconds)
    assert proc.poll() is None, "the import finished before it could be killed; make it bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    p = nl.open(shared)
    after = p.instances().df()[["instance_id", "x1"]]
    assert after.equals(before)
    assert p.add_instance(1, "car", box=[2, 2, 9, 9]) == keep[-1] + 1  # the file still takes writes
    assert p.media().count() == 3


WAITER = textwrap.dedent("""
    import sys, nblabel as nl
    nl.open(sys.argv[1]).media().count()
""")


def test_a_waiter_killed_with_9_and_a_reused_pid_do_not_fool_the_holder(shared):
    p = nl.open(shared)
    p.store.linger = 20.0
    queue = shared.parent / (shared.name + ".waiting")
    with p.store.transaction():
        waiter = _spawn(WAITER, shared)  # it queues for the file this process holds
        deadline = time.monotonic() + 120
        while not (queue.exists() and any(n.endswith(".token") for n in os.listdir(queue))):
            assert time.monotonic() < deadline and waiter.poll() is None, waiter.stderr.read()
            time.sleep(0.01)
        assert p.store._lock.others_waiting()  # a live waiter is seen...
        os.kill(waiter.pid, signal.SIGKILL)
        waiter.communicate(timeout=30)  # reaps it and closes its pipes
        assert [n for n in os.listdir(queue) if n.endswith(".token")]  # ...kill -9 left its token behind
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        (queue / str(sleeper.pid)).touch()  # an old-style waiter file whose pid number is alive
        for _ in range(3):
            p.instances().count()
            assert p.store._con is not None  # the holder keeps its connection: nobody really waits
        assert not p.store._lock.others_waiting()
        assert os.listdir(queue) == []  # both leftovers were recognised as stale and removed
    finally:
        sleeper.kill()
        sleeper.wait()
    p.close()


def test_a_reader_gets_the_file_between_two_busy_writers_turns(shared):
    """Queries queue ahead of waiting writers, so a polling notebook is not starved."""
    procs = [_spawn(WRITER, shared, who, 60, 1) for who in ("ana", "ben")]
    p = nl.open(shared)
    try:
        counts = []
        while all(pr.poll() is None for pr in procs):
            counts.append(p.instances().count())
            p.close()  # every read queues for the file anew
            time.sleep(0.05)
    finally:
        outs = [pr.communicate(timeout=240) for pr in procs]
    for (_, err), pr in zip(outs, procs):
        assert pr.returncode == 0, err
    assert len(counts) >= 3 and counts == sorted(counts)
    assert p.instances().count() == 120
