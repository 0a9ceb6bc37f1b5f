"""A sweep on a real Dask cluster whose workers cannot see the client's disk.

``dask scheduler`` and two ``dask worker`` processes are started as separate processes
under the unprivileged user ``nobody`` (with ``runuser``), each in its own temporary
folder, bound to 127.0.0.1. The client's output folder belongs to root and is not
writable by them. The sweep must give results identical to a local 1-worker sweep,
no cluster process may write outside its own temporary folder, and killing one worker
while it holds work must still leave every run recorded exactly once. Every process the
test starts is killed by a fixture finalizer, also when the test fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trucesim.calibration.smc import run_calibration
from trucesim.runner import run_experiment
from trucesim.runner.experiment import load_experiment
from trucesim.runner.store import TIMING_COLUMNS

from .sweep_support import write_tiny

pytestmark = pytest.mark.slow

#: Prefix of every cluster process's temporary folder (the only place it may write).
PREFIX = "trucesim-cluster-"
USER = "nobody"


def _runs_as_user(python: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Whether ``USER`` can start ``python`` and find trucesim, numba and distributed."""
    return subprocess.run(
        ["runuser", "-u", USER, "--", python, "-c",
         "import importlib.util as u, distributed, numba; "
         "assert u.find_spec('trucesim'), 'trucesim not found'"],
        capture_output=True, text=True, cwd="/",
        env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "PYTHONDONTWRITEBYTECODE": "1"})


def worker_python(folder: Path) -> tuple[str, dict[str, str]]:
    """An interpreter ``USER`` can run with this environment's packages, and its env.

    This Python itself when ``USER`` can run it. Otherwise (an interpreter under a home
    only root may enter, such as pyenv in /root) a mirror in ``folder`` (hard links to
    the base installation, a virtual environment whose site-packages are this one's):
    what a cluster's machines have, their own installation of the same environment.
    Raises :class:`pytest.skip.Exception` when neither works.
    """
    if _runs_as_user(sys.executable, {}).returncode == 0:
        return sys.executable, {}
    base = folder / "base"
    try:
        subprocess.run(["cp", "-al", sys.base_prefix, str(base)], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        shutil.copytree(sys.base_prefix, base, symlinks=True)
    env_dir = folder / "env"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "lib" / version).mkdir(parents=True)
    (env_dir / "bin" / "python").symlink_to(base / "bin" / version)
    (env_dir / "lib" / version / "site-packages").symlink_to(sysconfig.get_paths()["purelib"])
    (env_dir / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\n"
                                        "include-system-site-packages = false\n")
    for path in (folder, *folder.parents):
        if path == Path(tempfile.gettempdir()):
            break
        os.chmod(path, 0o755)
    python = str(env_dir / "bin" / "python")
    env = {"LD_LIBRARY_PATH": str(base / "lib")}
    check = _runs_as_user(python, env)
    if check.returncode != 0:
        pytest.skip(f"user {USER!r} can run neither {sys.executable} nor a mirror of it: "
                    f"{(check.stderr.strip().splitlines() or ['?'])[-1]}")
    return python, env


def _why_not() -> str | None:
    """Why this machine cannot run the test (None: it can)."""
    if shutil.which("runuser") is None:
        return "needs runuser (util-linux) to start the cluster as an unprivileged user"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"needs the unprivileged user {USER!r}"
    if os.geteuid() != 0:
        return f"needs root to start processes as {USER!r} with runuser"
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "needs Dask: pip install 'trucesim[dask]'"
    return None


REASON = _why_not()
if REASON is not None:
    pytestmark = [pytestmark, pytest.mark.skip(reason=REASON)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Scheduler and workers started as ``nobody``, each in its own temporary folder."""

    def __init__(self) -> None:
        self.user = pwd.getpwnam(USER)
        self.procs: dict[str, subprocess.Popen] = {}
        self.homes: dict[str, Path] = {}
        self.started = time.time()
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.python_dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}python-"))
        self.python, self.python_env = sys.executable, {}

    def _home(self, name: str) -> Path:
        home = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{name}-"))
        os.chown(home, self.user.pw_uid, self.user.pw_gid)
        os.chmod(home, 0o700)
        self.homes[name] = home
        return home

    def _start(self, name: str, args: list[str]) -> None:
        home = self._home(name)
        env = {
            **self.python_env,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "TMPDIR": str(home), "DASK_TEMPORARY_DIRECTORY": str(home),
            "NUMBA_CACHE_DIR": str(home / "numba"), "MPLCONFIGDIR": str(home / "mpl"),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
        }
        if os.environ.get("PYTHONPATH"):  # a checkout run with PYTHONPATH=src: its code
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]  # made absolute by conftest
        if name.startswith("worker"):
            self._seed_numba_cache(home / "numba")
        log = (home / "log").open("w")
        os.chown(home / "log", self.user.pw_uid, self.user.pw_gid)
        self.procs[name] = subprocess.Popen(
            ["runuser", "-u", USER, "--", self.python, "-m", "dask", *args], cwd=home,
            env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _seed_numba_cache(self, cache: Path) -> None:
        """Give a worker the kernels this process compiled (numba's cache for the same
        sources, where NUMBA_CACHE_DIR puts it), so that it does not compile them again."""
        import trucesim
        from trucesim.numerics.jit import numba_cache_folder

        cache.mkdir(parents=True, exist_ok=True)
        if os.environ.get("NUMBA_CACHE_DIR"):  # the same layout as the worker's
            shutil.copytree(os.environ["NUMBA_CACHE_DIR"], cache, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.lock"))
        package = Path(trucesim.__file__).resolve().parent
        for cached in [*package.rglob("*.nbi"), *package.rglob("*.nbc")]:
            source = cached.parent.parent / "any.py"  # a file of the cached kernel's folder
            target = numba_cache_folder(source, cache) / cached.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cached, target)
        for path in [cache, *cache.rglob("*")]:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def start(self, workers: int) -> None:
        self.python, self.python_env = worker_python(self.python_dir)
        port = self.address.rsplit(":", 1)[1]
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port,
                                  "--no-dashboard"])
        for i in range(workers):  # "." is the worker's own folder (its cwd)
            self._start(f"worker{i}", ["worker", self.address, "--host", "127.0.0.1",
                                       "--nthreads", "1", "--nworkers", "1", "--name",
                                       f"worker{i}", "--no-dashboard",
                                       "--local-directory", "."])

    def wait_ready(self, workers: int) -> None:
        """Wait until ``workers`` workers have joined the scheduler (fail if they do not)."""
        from distributed import Client

        try:
            with Client(self.address, timeout="30s", set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=60)
        except (OSError, TimeoutError) as exc:
            pytest.fail(f"the cluster did not start ({exc}); scheduler log: "
                        f"{self.log('scheduler')}; worker0 log: {self.log('worker0')}")

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal a process and everything it started (runuser, nanny, worker: one
        process group); SIGKILL what is left after 15 s."""
        self.kill_all([name], sig)

    def kill_all(self, names: list[str], sig: signal.Signals = signal.SIGKILL) -> None:
        """:meth:`kill` for several processes, signalled in the order of ``names`` and
        then waited for together (each one's shutdown takes seconds: in parallel, they
        take those of the slowest)."""
        left = list(names)
        for signum in dict.fromkeys((sig, signal.SIGKILL)):
            signalled = []
            for name in left:
                try:
                    os.killpg(self.procs[name].pid, signum)
                    signalled.append(name)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 15
            left = []
            for name in signalled:
                proc = self.procs[name]
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    left.append(name)
                    continue
                if signum == signal.SIGKILL:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived runuser
                    except ProcessLookupError:
                        pass
            if not left:
                return

    def log(self, name: str) -> str:
        try:
            return (self.homes[name] / "log").read_text()[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop every process (workers signalled first, then all waited for together),
        then delete their folders and the
        semaphores a killed process left in /dev/shm."""
        self.kill_all(list(reversed(self.procs)), signal.SIGTERM)
        for home in [*self.homes.values(), self.python_dir]:
            shutil.rmtree(home, ignore_errors=True)
        uid = self.user.pw_uid
        for sem in Path("/dev/shm").glob("sem.mp-*"):
            try:
                if sem.stat().st_uid == uid and sem.stat().st_mtime >= self.started - 1:
                    sem.unlink()
            except OSError:
                pass



def written_by_cluster(since: float, homes: list[Path]) -> list[str]:
    """Files and folders owned by ``nobody``, changed since ``since``, outside ``homes``
    and outside other runs' cluster folders: in the folders anyone may write (/tmp,
    /var/tmp, /run/lock, /dev/shm, the only world-writable ones on these machines), in
    the project and in the Python environment (root's, so unwritable: proven here)."""
    uid = pwd.getpwnam(USER).pw_uid
    project = Path(__file__).resolve().parents[1]
    roots = ["/tmp", "/var/tmp", "/run/lock", "/dev/shm", str(project), sys.prefix]
    marker = tempfile.NamedTemporaryFile(delete=False)
    marker.close()
    os.utime(marker.name, (since - 1, since - 1))
    found = []
    try:
        finds = [subprocess.Popen(  # all at once: /tmp and the environment are big
            ["find", root, "-xdev", "(", "-path", "/proc", "-o", "-path", "/sys", "-o",
             "-name", f"{PREFIX}*", ")", "-prune", "-o", "-uid", str(uid), "-newer",
             marker.name, "-print"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True) for root in dict.fromkeys(r for r in roots if os.path.isdir(r))]
        for find in finds:
            found += find.communicate()[0].split()
    finally:
        os.unlink(marker.name)
    # POSIX named semaphores of multiprocessing live in /dev/shm whatever the folders
    # (glibc's sem_open): shared memory, not output; the fixture removes leftovers.
    return sorted(p for p in set(found) if not any(Path(p).is_relative_to(h) for h in homes)
                  and not p.startswith("/dev/shm/sem.mp-"))


@pytest.fixture
def cluster():
    c = None
    try:
        c = Cluster()
        c.start(workers=2)  # the test waits for them (Cluster.wait_ready)
        yield c
    finally:
        if c is not None:
            c.stop()


#: A small calibration (2 simulations of 2010-2016 on 30 cliques).
CALIBRATION = """
scenario = "el-salvador-2010-2016"
overrides = {"world.cliques" = 30, "world.burn_in_days" = 10}
[method]
population_size = 10
max_generations = 1
[parameters."violence.mu"]
low = 0.001
high = 0.005
[[targets]]
name = "annual"
quantity = "homicides"
window = [2010-01-01, 2010-12-31]
min_days = 365
"""


def timing_free(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=list(TIMING_COLUMNS))


def test_sweep_on_a_cluster_without_shared_folder(tmp_path, cluster):
    exp_dir = tmp_path / "exp"
    path = write_tiny(exp_dir, replicates=6)  # 24 runs
    exp = load_experiment(path)
    out = tmp_path / "results"
    out.mkdir()
    os.chmod(out, 0o755)  # writable by the client's user only
    # The local reference: one worker, in this process (no pool to start), while the
    # cluster's processes start.
    with ThreadPoolExecutor(1) as pool:
        local = run_experiment(exp, pool, out=tmp_path / "local", progress=False)
    assert local.report.ok == exp.runs
    cluster.wait_ready(2)

    # Kill a worker once two runs are recorded, while it holds work: early, so that the
    # runs left are many (waiting for half of them lost the race on a loaded machine:
    # the sweep ended before the killer saw a busy worker).
    from distributed import Client

    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        records = out / "sweep" / "records"
        with Client(cluster.address, timeout="30s", set_as_default=False) as client:
            deadline = time.time() + 300
            while time.time() < deadline:
                done = len(list(records.glob("*.json"))) if records.is_dir() else 0
                if done >= exp.runs:
                    return
                if done >= 2:
                    names = {w: i["name"] for w, i in client.scheduler_info()["workers"].items()}
                    busy = {names.get(w) for w, tasks in client.processing().items() if tasks}
                    victim = next((n for n in ("worker1", "worker0") if n in busy), None)
                    if victim is not None:
                        cluster.kill(victim)
                        killed.append(f"{victim} at {done}/{exp.runs}")
                        return
                time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    res = run_experiment(exp, out=out / "sweep", backend="dask", scheduler=cluster.address,
                         progress=False)
    killer.join(timeout=60)

    assert killed, "no worker was killed while it held work (the sweep finished first)"
    print("killed:", *killed)
    assert res.report.failed == 0, res.runs["error"].dropna().iloc[0].splitlines()[-1]
    runs = res.runs
    assert runs["run_id"].is_unique and len(runs) == exp.runs
    assert (runs["status"] == "ok").all() and (runs["attempts"] == 1).all()
    assert len(list((out / "sweep" / "records").glob("*.json"))) == exp.runs
    pd.testing.assert_frame_equal(timing_free(out / "sweep"), timing_free(tmp_path / "local"))
    parts = sorted((tmp_path / "local" / "daily").glob("*.parquet"))
    assert [p.name for p in parts] == sorted(
        p.name for p in (out / "sweep" / "daily").iterdir())
    for part in parts:
        pd.testing.assert_frame_equal(pd.read_parquet(part),
                                      pd.read_parquet(out / "sweep" / "daily" / part.name))

    # ABC-SMC on the same cluster (one worker left; pyabc's Dask sampler): every accepted
    # particle's statistics are those of its own seed, as a local simulation gives them.
    cal = exp_dir / "cal.toml"
    cal.write_text(CALIBRATION)
    assert run_calibration(cal, backend="dask", scheduler=cluster.address,
                           out=out / "cal") == 0
    import pyabc

    from trucesim.calibration.problem import load_calibration
    from trucesim.calibration.smc import Simulator
    from trucesim.scenario.posterior import load_posterior

    post = load_posterior(out / "cal" / "posterior.toml")
    assert len(post) == 10 and post.protocol == "A"
    problem = load_calibration(cal)
    model = Simulator(problem.scenario, problem.priors, problem.stats, problem.spec.seed)
    history = pyabc.History(f"sqlite:///{out / 'cal' / 'history.db'}", _id=1)
    particles = history.get_population(t=history.max_t).particles
    assert len(particles) == 10
    for particle in particles:
        got = model(dict(particle.parameter))["s"]
        assert got.tolist() == np.asarray(particle.sum_stat["s"]).tolist()

    # Only the client wrote the results; no cluster process wrote outside its folder.
    assert {p.stat().st_uid for p in out.rglob("*")} == {os.getuid()}
    assert written_by_cluster(cluster.started, list(cluster.homes.values())) == []
    # The workers did work in their own folders (their numba caches hold the kernels).
    assert any((cluster.homes["worker0"] / "numba").rglob("*.nbi"))
