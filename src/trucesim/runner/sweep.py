"""Running an experiment: plan the runs, skip finished ones, execute, record, summarise."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from trucesim import budget
from trucesim.folders import FolderLock, now
from trucesim.runner.backends import Backend, open_backend
from trucesim.runner.experiment import Experiment, load_experiment
from trucesim.runner.results import SweepResults
from trucesim.runner.store import CODE, DAILY, MAX_ATTEMPTS, SweepStore, run_id
from trucesim.runner.tasks import RunTask, execute_run, running_code
from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import named_output


@dataclass
class SweepReport:
    """What one invocation did (printed as the closing line)."""

    name: str
    total: int
    skipped: int = 0
    ran: int = 0
    ok: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    aborted: str | None = None
    uncertainty: str = ""

    def line(self, out: Path) -> str:
        """The closing line: totals in the folder, then what this invocation did."""
        rate = self.ran / self.elapsed_s if self.elapsed_s > 0 else 0.0
        t = self.totals
        done = (f"{t.get('ok', self.ok)} ok, {t.get('failed', self.failed)} failed"
                + (f", {t['missing']} not run" if t.get("missing") else ""))
        return (f"{self.name}: {self.total} runs: {done}. This time: ran {self.ran} "
                f"({self.failed} failed), skipped {self.skipped} already done, "
                f"{self.elapsed_s:.1f} s ({rate:.2f} runs/s). Results in {out}"
                + (f"; the spread over replicates carries {self.uncertainty}"
                   if self.uncertainty else ""))


def plan(exp: Experiment, records: dict[str, dict[str, Any]], store: SweepStore) -> tuple[
        list[RunTask], int]:
    """The runs still to do and how many are skipped.

    To do: runs without a record, failed runs with attempts left, and finished runs
    whose daily part is missing or unreadable (their record is dropped from
    ``records``, and a :class:`MissingOutputWarning` says how many).
    """
    daily_cols = exp.daily_columns()
    todo, skipped, lost = [], 0, []
    for p in exp.points:
        for r in range(exp.replicates):
            rid = run_id(p.index, r)
            rec = records.get(rid)
            if (rec is not None and rec["status"] == "ok" and daily_cols is not None
                    and not _readable_part(store.daily_dir / f"{rid}.parquet")):
                lost.append(rid)
                del records[rid]
                rec = None
            if rec is not None and (rec["status"] == "ok"
                                    or rec.get("attempts", 1) >= MAX_ATTEMPTS):
                skipped += 1
                continue
            todo.append(RunTask(
                run_id=rid, point=p, replicate=r, base=exp.base, root_seed=exp.seed,
                outcomes=tuple(exp.outcomes.summary),
                daily_columns=tuple(daily_cols) if daily_cols is not None else None,
                draw=None if exp.draws is None else r,
                parameters=tuple(exp.draw_overrides(r).items()),
            ))
    if lost:
        warnings.warn(f"{len(lost)} finished run(s) had a missing or unreadable daily part "
                      f"in {store.daily_dir} (first: {lost[0]}); running them again",
                      MissingOutputWarning, stacklevel=2)
    return todo, skipped


class MissingOutputWarning(UserWarning):
    """A recorded run's output is gone or unreadable; the run is done again."""


def _readable_part(path: Path) -> bool:
    """Whether ``path`` is a Parquet file whose footer reads (cheap: no data is read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows > 0
    except (OSError, ValueError, pa.ArrowException):
        return False


def run_experiment(
    experiment: str | Path | Experiment,
    executor: Executor | None = None,
    *,
    out: str | Path | None = None,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool | None = None,
) -> SweepResults:
    """Run (or resume) an experiment and return a handle on its results folder.

    Args:
        experiment: an experiment file, a bundled experiment name, or a loaded
            :class:`~trucesim.runner.experiment.Experiment`.
        executor: any ``concurrent.futures.Executor`` to run on (left open); by
            default one is opened from ``backend``/``workers``/``scheduler``, or the
            experiment's ``[execution]`` settings.
        out: results folder (default: the experiment's ``execution.out``, else
            ``results/<name>``).
        resume: insist on resuming an existing sweep of this experiment (re-running
            always resumes when the folder holds the same experiment).
        force: replace a folder holding a different experiment.
        progress: show a progress bar (default: when writing to a terminal).

    Returns:
        :class:`SweepResults` with ``.runs`` and ``.daily(...)``.

    Raises:
        ConfigError: bad experiment, out folder refused, backend unavailable. Nothing is
            written in these cases.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    ex = exp.execution
    if out is None and ex.out is not None:
        out = named_output(ex.out, exp.source, "execution.out")
    folder = Path(out or Path("results") / exp.name)
    store = SweepStore(folder)
    with FolderLock(folder, f"sweep {exp.name}"):
        return _run_locked(exp, store, executor, backend=backend, workers=workers,
                           scheduler=scheduler, resume=resume, force=force, progress=progress)


def _run_locked(exp: Experiment, store: SweepStore, executor: Executor | None, *,
                backend: str | None, workers: int | None, scheduler: str | None,
                resume: bool, force: bool, progress: bool | None) -> SweepResults:
    """:func:`run_experiment` once the folder's lock is held."""
    ex = exp.execution
    folder = store.folder
    base = exp.base
    budget.check(exp.source, "design", exp.runs, base.days, base.world.cliques,
                 base.world.burn_in_days, keep_daily=False)
    resuming = store.check(exp, force=force, resume=resume)

    if executor is not None:
        opened = nullcontext(Backend(executor, max(1, workers or 2), "given executor"))
    else:
        opened = open_backend(backend or ex.backend, workers or ex.workers,
                              scheduler if scheduler is not None else ex.scheduler)
    with opened as b:
        manifest = store.start(exp, resuming)
        started = now()
        records = store.load_records()  # kept up to date as runs are recorded
        try:
            report = _execute(exp, store, records, b, progress)
        except KeyboardInterrupt:
            store.consolidate(exp, records)  # what finished stays usable; rerun to resume
            raise
        table = store.consolidate(exp, records)
        counts = {
            "runs": exp.runs,
            "ok": int((table["status"] == "ok").sum()),
            "failed": int((table["status"] == "failed").sum()),
        }
        counts["missing"] = exp.runs - counts["ok"] - counts["failed"]
        report.totals = counts
        store.finish(manifest, {
            "started": started, "finished": now(), "backend": b.description,
            "ran": report.ran, "ok": report.ok, "failed": report.failed,
            "skipped": report.skipped, "elapsed_s": round(report.elapsed_s, 3),
        }, counts)
    results = SweepResults(folder)
    results.report = report
    return results


def _execute(exp: Experiment, store: SweepStore, records: dict[str, dict[str, Any]],
             b: Backend, progress: bool | None) -> SweepReport:
    """Run the planned runs; every saved record is also put into ``records``.

    Each result is written as soon as it arrives (daily part, then record) and then
    dropped, and at most a few runs per slot are in flight, so the client's memory does
    not grow with the number of runs. A worker running other trucesim code than this
    process stops the sweep (ConfigError) before anything of it is stored.
    """
    todo, skipped = plan(exp, records, store)
    code = running_code()
    report = SweepReport(exp.name, exp.runs, skipped=skipped, uncertainty=exp.uncertainty)
    started = time.perf_counter()
    window = max(2, 4 * b.slots)
    tasks = iter(todo)
    inflight: dict[Future, RunTask] = {}
    with _bar(exp, skipped, progress) as bar:
        try:
            report.aborted = _fill(b.executor, tasks, inflight, window)
            while inflight:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    record = _record_of(fut, task)
                    worker_code = record.pop(CODE, None)
                    if worker_code is not None and worker_code != code:
                        raise ConfigError(
                            b.description, "", f"a worker runs different trucesim code "
                            f"(code {worker_code}; here {code}): install the same trucesim "
                            "on every worker")
                    daily = record.pop(DAILY, None)
                    if record["status"] == "ok" and task.daily_columns is not None:
                        if daily is None:
                            record.update(status="failed", error="the worker returned no "
                                          "daily part")
                        else:
                            store.save_daily(task.run_id, daily)
                    del daily
                    previous = records.get(task.run_id)
                    record["attempts"] = (previous or {}).get("attempts", 0) + 1
                    store.save_record(record)
                    records[task.run_id] = record
                    report.ran += 1
                    if record["status"] == "ok":
                        report.ok += 1
                    else:
                        report.failed += 1
                        report.failures.append(task.run_id)
                    bar.update()
                    bar.set_postfix(failed=report.failed, refresh=False)
                if report.aborted is None:
                    report.aborted = _fill(b.executor, tasks, inflight, window)
        except BaseException:
            for fut in inflight:
                fut.cancel()
            raise
        finally:
            report.elapsed_s = time.perf_counter() - started
    return report


def _fill(executor: Executor, tasks: Iterator[RunTask], inflight: dict,
          window: int) -> str | None:
    """Keep at most ``window`` runs submitted, so memory stays bounded for any sweep size.

    Returns None, or why the executor accepts no more work (its workers died).
    """
    while len(inflight) < window:
        task = next(tasks, None)
        if task is None:
            return None
        try:
            inflight[executor.submit(execute_run, task)] = task
        except (BrokenExecutor, RuntimeError) as exc:
            return f"the executor stopped accepting runs: {exc}"
    return None


def _record_of(fut: Future, task: RunTask) -> dict[str, Any]:
    """The run's record; an executor-level failure (a dead worker) is a failed run too."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool, a lost Dask worker
        import traceback

        return {"run_id": task.run_id, "status": "failed", "outcomes": {}, "elapsed_s": None,
                "error": "".join(traceback.format_exception(exc))}


@contextmanager
def _bar(exp: Experiment, skipped: int, progress: bool | None):
    bar = tqdm(total=exp.runs, initial=skipped, desc=exp.name, unit="run",
               disable=(None if progress is None else not progress), dynamic_ncols=True,
               smoothing=0.1)
    try:
        yield bar
    finally:
        bar.close()
