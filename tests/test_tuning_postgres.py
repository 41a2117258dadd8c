"""Two processes on one study kept in a real PostgreSQL server, started by the test in a
temporary folder (Debian's ``postgresql``: initdb and pg_ctl) and stopped afterwards."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.clitools import start_process, wait

pytestmark = pytest.mark.slow


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """``postgresql://movierec@127.0.0.1:PORT/studies`` on a server of its own."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql); "
                    ".ci/run installs it")
    # The server refuses to run as root: as root it runs as the postgres system user.
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user to run the server as")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="movierec-pg-"))
    root.chmod(0o755)
    data, sockets = root / "data", root / "sockets"
    data.mkdir()
    sockets.mkdir()
    if prefix:
        for path in (data, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", "movierec", "--auth=trust",
                        "-E", "UTF8"], check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(sockets / "log"), "-w",
                        "-t", "60", "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1",
                        "start"], check=True, capture_output=True, timeout=120)
        started = True
        import psycopg

        with psycopg.connect(f"postgresql://movierec@127.0.0.1:{port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE studies")
        yield f"postgresql://movierec@127.0.0.1:{port}/studies"
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError):
                subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                               capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgresql_study(postgres):
    args = ["tune", "--dataset", "demo", "--model", "mf", "--objective", "rmse", "--epochs",
            "3", "--space", "dim=4:16:int", "--space", "lr=0.005:0.05:log", "--study", "pg",
            "--storage", postgres, "--no-test", "--json", "--quiet"]
    workers = [start_process(*args, "--trials", str(n)) for n in (5, 4)]
    results = [wait(w, timeout=600) for w in workers]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    docs = [json.loads(r.stdout) for r in results]
    mine = [set(d["trials_this_process"]) for d in docs]
    assert len(mine[0]) == 5 and len(mine[1]) == 4
    assert not mine[0] & mine[1] and mine[0] | mine[1] == set(range(9))
    # each worker's trials were its own process's (none ran twice), and both see all nine
    import optuna

    study = optuna.load_study(study_name="pg", storage=postgres)
    trials = study.get_trials()
    assert len(trials) == 9 and len({t.number for t in trials}) == 9
    by_process = {}
    for t in trials:
        by_process.setdefault(t.user_attrs["process"], set()).add(t.number)
    assert sorted(map(len, by_process.values())) == [4, 5]
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == 9
    # they agree on the best: a third process, and the study itself, name the same trial
    third = wait(start_process(*args, "--trials", "0"), timeout=300)
    best = json.loads(third.stdout)
    finished = [t for t in trials if t.value is not None and t.state.name == "COMPLETE"]
    assert best["best_value"] == min(t.value for t in finished) == study.best_value
    assert best["best_trial"] == study.best_trial.number
    assert best["storage"] == postgres and best["n_trials"] == 9
