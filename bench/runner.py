"""The grid runner: expands a grid into trials, skips what exists, runs the rest, writes results.

Idempotent and resumable: every finished trial is one atomically written file, so a
crash or `kill -9` loses only the trial in flight; rerunning skips every file that
exists (and is valid). A failing trial is written with status=failed and the grid goes on.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from bench.protocol import Protocol
from bench.results import DEFAULT_RESULTS_DIR, ResultExists, read_result, result_path, write_result
from bench.tasks import TaskSpec, load_task

EXECUTORS = ("serial", "process", "dask")


@dataclass(frozen=True)
class Job:
    backbone: str
    task: TaskSpec
    method: str
    train_size: int
    seed: int

    def path(self, results_dir: Path) -> Path:
        return result_path(results_dir, self.backbone, self.task.name, self.method, self.train_size, self.seed)

    @property
    def label(self) -> str:
        return f"{self.backbone}/{self.task.name}/{self.method}/n{self.train_size}-s{self.seed}"


def expand(backbones: Iterable[str], tasks: Iterable[TaskSpec], methods: Iterable[str], sizes: Iterable[int],
           seeds: Iterable[int]) -> list[Job]:
    """Seed-major order: a partial grid already covers every task and size for the first seed."""
    tasks, methods, sizes = list(tasks), list(methods), sorted(sizes)
    return [Job(b, t, m, n, s) for s in seeds for b in backbones for n in sizes for t in tasks for m in methods]


def clean_stale_temp_files(results_dir: Path, older_than_s: float = 600.0) -> int:
    """Remove temp files left by a writer that was killed mid-write (never a finished result)."""
    removed = 0
    now = time.time()
    for tmp in Path(results_dir).glob("**/.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def pending(jobs: list[Job], results_dir: Path, force: bool = False) -> tuple[list[Job], list[Job]]:
    """(to run, skipped): a job is skipped when its result file exists, unless force.

    An existing but invalid file is skipped too: the immutable store would refuse the new
    result anyway (ResultExists), so running the trial would only waste it. `bench status`
    lists such files; `--force` replaces them.
    """
    todo, skipped = [], []
    for job in jobs:
        path = job.path(results_dir)
        exists = read_result(path) is not None or path.exists()
        (skipped if not force and exists else todo).append(job)
    return todo, skipped


# ------------------------------------------------------------------ cell claims
# Two `bench run` on the same cells both trained every cell (417 s each) and the loser rewrote the winner's soft
# prompt .npy (issue 25). A runner first creates `.<result name>.claim` next to the result path with O_EXCL (one
# creator wins, on a local or NFSv3+ file system), holding its host and pid; it is removed when the trial ends, and
# a claim whose owner on this host is no longer alive (kill -9) is broken by the next runner. A claim from another
# host cannot be probed: it is broken after CLAIM_MAX_AGE_S (the slowest trial here, SmolLM2 full fine-tuning on
# CPU, took 21 minutes; 6 h leaves 17x).
CLAIM_MAX_AGE_S = 6 * 3600.0


def claim_path(result: Path) -> Path:
    return result.with_name(f".{result.name}.claim")


def _owner_alive(info: dict[str, Any], age_s: float) -> bool:
    import socket

    if info.get("host") != socket.gethostname():
        return age_s < CLAIM_MAX_AGE_S
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def acquire_claim(result: Path) -> Path | None:
    """The claim file when this process now owns the cell, else None (a live runner holds it)."""
    import json
    import socket

    claim = claim_path(result)
    claim.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):  # a second try after breaking a dead owner's claim
        try:
            fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                raw = claim.read_bytes()[:4096]
                age = time.time() - claim.stat().st_mtime
                info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            except FileNotFoundError:
                continue  # released meanwhile: try again
            except (OSError, ValueError):
                info, age = {}, 0.0
            if not isinstance(info, dict):
                info = {}
            # An empty or unreadable claim is a writer killed between create and write: break it once it is a
            # minute old (a live writer fills it within microseconds).
            if (info and _owner_alive(info, age)) or (not info and age < 60.0):
                return None
            claim.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}, f)
        return claim
    return None


def release_claim(claim: Path) -> None:
    """Remove the claim if it is still ours (a claim broken and retaken by another runner is left alone)."""
    import json

    try:
        info = json.loads(claim.read_text(encoding="utf-8"))
        if isinstance(info, dict) and info.get("pid") == os.getpid():
            claim.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def execute(job: Job, results_dir: str, protocol: Protocol, data_dir: Any, device: str, force: bool,
            threads: int | None = None) -> dict[str, Any]:
    """Run one job and write its result; returns a short summary (runs in worker processes too).

    The cell is claimed first (`acquire_claim`): a cell another live runner holds, or one whose result appeared
    since the grid was planned, is skipped with status "claimed" / "exists" and nothing is trained or written."""
    path = job.path(Path(results_dir))
    claim = acquire_claim(path)
    if claim is None:
        return {"label": job.label, "status": "claimed", "error": None, "accuracy": None, "wall_time_s": None}
    try:
        if not force and path.exists():
            return {"label": job.label, "status": "exists", "error": None, "accuracy": None, "wall_time_s": None}
        return _execute(job, path, protocol, data_dir, device, force, threads)
    finally:
        release_claim(claim)


def _execute(job: Job, path: Path, protocol: Protocol, data_dir: Any, device: str, force: bool,
             threads: int | None) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers deprecation chatter
    if threads:
        import torch

        torch.set_num_threads(threads)
    from bench.trial import run_trial, write_artifacts

    record = run_trial(job.backbone, job.task, job.method, job.train_size, job.seed, protocol, data_dir, device)
    write_artifacts(path, record)  # prompt-tuning runs: the learned prompt as <result>.prompt.npy
    try:
        write_result(path, record, force=force)
    except ResultExists:
        pass  # another worker finished the same cell first: keep the existing immutable file
    return {"label": job.label, "status": record["status"], "error": record["error"],
            "accuracy": record["accuracy"], "wall_time_s": record.get("wall_time_s")}


def run_grid(jobs: list[Job], results_dir: str | Path = DEFAULT_RESULTS_DIR, protocol: Protocol | None = None,
             data_dir: Any = None, device: str = "auto", executor: str = "serial", workers: int = 1,
             force: bool = False, progress: bool = True, threads: int | None = None, scheduler: str | None = None) -> dict[str, Any]:
    """Run every pending job; returns counts and per-job summaries."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r} (allowed: {', '.join(EXECUTORS)})")
    protocol = protocol or Protocol()
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(results_dir)
    todo, skipped = pending(jobs, results_dir, force)
    summaries: list[dict[str, Any]] = []
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="trials", unit="trial", dynamic_ncols=True)

    def done(summary: dict[str, Any]) -> None:
        summaries.append(summary)
        if bar is not None:
            bar.set_postfix_str(f"{summary['label']} {summary['status']}"
                                + (f" acc={summary['accuracy']:.3f}" if summary["accuracy"] is not None else ""))
            bar.update(1)

    t0 = time.perf_counter()
    # Threads per trial: all cores for one worker, split evenly across several. Results
    # record the count; oversubscribing (2 processes x 2 threads on 2 cores) made steps 10x slower here.
    threads = threads or max(1, (os.cpu_count() or 2) // max(1, workers))
    if executor == "dask":
        for summary in _run_dask(todo, str(results_dir), protocol, data_dir, device, force, threads, workers, scheduler):
            done(summary)
    elif executor == "serial" or workers <= 1:
        for job in todo:
            done(execute(job, str(results_dir), protocol, data_dir, device, force, threads))
    else:
        import multiprocessing as mp

        # spawn: a fresh interpreter per worker (fork after torch has started threads can deadlock).
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            _terminate_workers_on_sigterm(pool)
            futures = {pool.submit(execute, job, str(results_dir), protocol, data_dir, device, force, threads): job
                       for job in todo}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    done(fut.result())
                except Exception as err:  # a lost worker: nothing was written, the next run retries it
                    done({"label": job.label, "status": "lost", "error": f"{type(err).__name__}: {err}",
                          "accuracy": None, "wall_time_s": None})
    if bar is not None:
        bar.close()
    # A cell another runner holds or has just finished is skipped, not failed, and not counted as run.
    other = [s for s in summaries if s["status"] in ("claimed", "exists")]
    summaries = [s for s in summaries if s["status"] not in ("claimed", "exists")]
    failed = [s for s in summaries if s["status"] != "ok"]
    return {"ran": len(summaries), "skipped": len(skipped) + len(other), "claimed_elsewhere": len(other),
            "failed": len(failed), "failures": failed,
            "seconds": time.perf_counter() - t0, "summaries": summaries}


def _run_dask(todo: list[Job], results_dir: str, protocol: Protocol, data_dir: Any, device: str, force: bool,
              threads: int, workers: int, scheduler: str | None) -> Iterable[dict[str, Any]]:
    """Trials as Dask tasks (`client.submit`). Without a scheduler address a LocalCluster on loopback.

    Workers write results with the same atomic files, so a worker lost mid-trial loses
    only that trial; it is reported as lost here and rerun next time.
    """
    if not todo:
        return
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(execute, job, results_dir, protocol, data_dir, device, force, threads,
                                 pure=False, key=f"trial-{job.label}"): job for job in todo}
        for fut in dask_completed(list(futures)):
            job = futures[fut]
            try:
                yield fut.result()
            except Exception as err:  # a lost worker or a killed task: nothing written, rerun next time
                yield {"label": job.label, "status": "lost", "error": f"{type(err).__name__}: {err}",
                       "accuracy": None, "wall_time_s": None}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _terminate_workers_on_sigterm(pool: ProcessPoolExecutor) -> None:
    """`kill <runner>` also stops its workers (spawned workers would otherwise finish their queue).

    A worker stopped mid-trial writes nothing, so the trial simply reruns next time.
    """
    import signal

    def stop(signum: int, frame: Any) -> None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (e.g. inside a test runner thread): leave signals alone
        pass


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Worker initializer: a worker dies when its parent does, even by `kill -9`.

    SIGTERM to the parent is handled above, but `kill -9` runs no handler, and a spawned
    worker would go on training and writing results for a grid nobody is running. On Linux
    the kernel sends SIGKILL at parent death (prctl PR_SET_PDEATHSIG); everywhere a daemon
    thread checks os.getppid() as a fallback. A worker killed mid-trial writes nothing
    (results are written atomically), so its trial simply reruns next time.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog below still works
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watchdog() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watchdog, name="die-with-parent", daemon=True).start()


def status_table(results_dir: str | Path = DEFAULT_RESULTS_DIR):
    """Counts of ok / failed runs per backbone, task and method (a pandas DataFrame)."""
    from bench.results import load

    df = load(results_dir)
    if df.empty:
        return df
    return (df.groupby(["backbone", "task", "method", "status"]).size().unstack("status", fill_value=0)
            .reset_index())


def parse_tasks(names: str) -> list[TaskSpec]:
    from bench.tasks import task_names

    chosen = task_names() if names in ("all", "") else [n.strip() for n in names.split(",") if n.strip()]
    return [load_task(n) for n in chosen]
