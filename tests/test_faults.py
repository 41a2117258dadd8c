"""Faults injected into running processes: a save killed halfway, leftovers of killed saves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from movierec.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]

# Saves the run again and again, each time with every weight set to k and train_seconds = k,
# so that a folder mixing two saves would show as weights != train_seconds.
SAVER = """
import sys, torch
from movierec.runs import RunStore
store = RunStore(sys.argv[1])
run = store.load(sys.argv[2])
k = int(run.train_seconds)
while True:
    k += 1
    with torch.no_grad():
        for p in run.model.parameters():
            p.fill_(float(k))
    run.train_seconds = float(k)
    store.save(run)
    print(k, flush=True)
"""


def _consistent(store: RunStore, run_id: str) -> float:
    run = store.load(run_id)
    marker = run.train_seconds
    for name, value in run.model.state_dict().items():
        if value.is_floating_point() and name != "global_mean":
            assert torch.all(value == marker), f"{name} is from another save than config.json"
    return marker


def test_a_save_killed_halfway_leaves_a_whole_run(tmp_path, mf_demo_run):
    store = RunStore(tmp_path / "runs")
    store.save(mf_demo_run)
    run_id = mf_demo_run.run_id
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = np.random.default_rng(0)
    markers = []
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(store.root), run_id],
                                 stdout=subprocess.PIPE, text=True, env=env)
        try:
            child.stdout.readline()                 # at least one save has finished
            time.sleep(float(rng.uniform(0.0, 0.15)))
        finally:
            child.send_signal(signal.SIGKILL)       # no cleanup code runs
            child.wait()
        reopened = RunStore(store.root).recover()   # what the next process sees
        assert reopened.ids() == [run_id]
        listing = reopened.list()
        assert len(listing) == 1 and listing[0]["status"] == "ok", listing
        markers.append(_consistent(reopened, run_id))
    # Every kill left one whole save, and no attempt lost what the one before had saved.
    assert markers == sorted(set(markers)) and markers[0] >= 1
    # Leftover staging folders of killed saves are ignored, and cleared once they are stale.
    leftovers = [p for p in store.root.iterdir() if p.name.startswith(".")]
    stale = time.time() - 2 * 3600
    for path in leftovers:
        os.utime(path, (stale, stale))
    RunStore(store.root).recover()
    assert [p.name for p in store.root.iterdir()] == [run_id]


DOWNLOADER = """
import sys
from pathlib import Path
from movierec.data import download, get_release
download(get_release("ml-1m"), Path(sys.argv[1]), mirror=sys.argv[2], timeout=60)
"""


def test_a_download_killed_halfway_is_never_taken_as_data(tmp_path, server):
    from movierec.data import download, get_release, load_dataset
    from movierec.data.download import clear_stale
    from movierec.errors import DataError
    from tests.data import tiny

    data = tmp_path / "data"
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m") * 50, "stall")
    child = subprocess.Popen([sys.executable, "-c", DOWNLOADER, str(data), server.url],
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 60
    while not list(data.glob(".ml-1m.zip.*.part")) and time.time() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    parts = list(data.glob(".ml-1m.zip.*.part"))
    assert len(parts) == 1                         # the half file a killed process leaves
    with pytest.raises(DataError, match="ml-1m is not in"):
        load_dataset("ml-1m", data_dir=data, allow_download=False)
    # A fresh leftover may belong to a download still running elsewhere: it is kept...
    clear_stale(data, get_release("ml-1m"))
    assert parts[0].exists()
    # ...a stale one goes, and the next try starts clean and succeeds.
    stale = time.time() - 3600
    os.utime(parts[0], (stale, stale))
    server.routes["/ml-1m.zip"] = (tiny.release_zip("ml-1m"), "ok")
    download(get_release("ml-1m"), data, mirror=server.url)
    assert sorted(p.name for p in data.iterdir()) == ["ml-1m"]
    assert load_dataset("ml-1m", data_dir=data, allow_download=False).n_ratings == 5


def test_an_install_killed_between_its_renames_keeps_the_old_copy(tmp_path):
    from movierec.data import load_dataset
    from tests.data import tiny

    data = tmp_path / "data"
    tiny.write_folder(data, "ml-1m")
    (data / "ml-1m").rename(data / ".ml-1m.old-12345")   # the state after the first rename
    assert load_dataset("ml-1m", data_dir=data, allow_download=False).n_ratings == 5
    assert sorted(p.name for p in data.iterdir()) == ["ml-1m"]
