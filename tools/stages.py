"""Run the stages of ``make test`` and print how long each took: wall clock, CPU and load.

Usage::

    python tools/stages.py NAME=COMMAND [NAME=COMMAND ...]
    python tools/stages.py "unit=pytest tests" "nbval=pytest --nbval ..." --together unit nbval

Stages run one after the other in the order given; adjacent stages named after
``--together`` run at the same time (each one's output is printed whole when it ends, so the
two do not interleave). The run stops after
the first stage (or group) that fails. The summary gives, per stage, its wall-clock seconds,
its CPU seconds (user + system of the stage and everything it started, from ``wait4``) and
the 1-minute load average when it started and ended. On a shared machine the wall clock
stretches with the load but the CPU seconds hardly move; CPU / cores is the floor of the wall
clock on a quiet machine.

CPU seconds: ``wait4`` only counts processes that were waited for by their parents, and loses
the time of kernels in a pid namespace (the grading sandbox) or killed late, so on Linux the
runner also samples ``/proc`` every second and adds up the CPU time of every process below the
stage; the larger of the two is reported (a process that lived less than a second may be
missed by the sampling, not by ``wait4``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, float]]:
    """Every process on the machine: pid -> (parent pid, CPU seconds so far), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state ppid ...
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return found


class CpuSampler(threading.Thread):
    """Adds up the CPU seconds of every process below ``root`` (sampled once a second)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.seen, self.done = root, {}, threading.Event()

    def sample(self) -> None:
        processes = _processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in processes.items():
            children.setdefault(parent, []).append(pid)
        todo = list(children.get(self.root, []))
        while todo:
            pid = todo.pop()
            self.seen[pid] = max(self.seen.get(pid, 0.0), processes[pid][1])
            todo += children.get(pid, [])

    def run(self) -> None:
        while not self.done.wait(1.0):
            try:
                self.sample()
            except (OSError, ValueError, IndexError):  # no /proc, or a process vanished
                pass

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def _load() -> float:
    return os.getloadavg()[0]


def run_group(stages: list[tuple[str, str]]) -> list[dict]:
    """Start ``stages`` together; wait for all; return one result dict per stage."""
    started = {}
    together = len(stages) > 1
    for name, command in stages:
        print(f"== {name}: {command}  (load {_load():.1f})", flush=True)
        # stages run together write to a file each, printed whole when the stage ends
        log = tempfile.TemporaryFile("w+") if together else None
        process = subprocess.Popen(command, shell=True, stdout=log, stderr=log)
        sampler = CpuSampler(process.pid)
        sampler.start()
        started[process.pid] = {
            "name": name,
            "start": time.monotonic(),
            "load0": _load(),
            "sampler": sampler,
            "log": log,
        }
    results = []
    while started:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in started:
            continue
        info = started.pop(pid)
        sampler = info.pop("sampler")
        sampler.done.set()
        log = info.pop("log")
        if log is not None:
            log.seek(0)
            print(f"---- output of {info['name']} ----", flush=True)
            sys.stdout.write(log.read())
            log.close()
        info.update(
            wall=time.monotonic() - info["start"],
            cpu=max(usage.ru_utime + usage.ru_stime, sampler.seconds),
            load1=_load(),
            rc=os.waitstatus_to_exitcode(status),
        )
        print(
            f"== {info['name']}: rc={info['rc']} {info['wall']:.0f} s wall,"
            f" {info['cpu']:.0f} s CPU (load {info['load1']:.1f})",
            flush=True,
        )
        results.append(info)
    order = [name for name, _ in stages]
    return sorted(results, key=lambda r: order.index(r["name"]))


def summary(results: list[dict], total: float) -> str:
    """The table printed at the end."""
    lines = [f"{'stage':<14}{'rc':>4}{'wall s':>9}{'CPU s':>9}{'load':>13}"]
    for r in results:
        load = f"{r['load0']:.1f}->{r['load1']:.1f}"
        lines.append(f"{r['name']:<14}{r['rc']:>4}{r['wall']:>9.1f}{r['cpu']:>9.1f}{load:>13}")
    cpu = sum(r["cpu"] for r in results)
    lines.append(f"{'total':<14}{'':>4}{total:>9.0f}{cpu:>9.0f}   on {os.cpu_count()} cores")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="+", help="NAME=COMMAND")
    parser.add_argument("--together", nargs="+", default=[], help="stage names run at once")
    args = parser.parse_args(argv)
    stages = []
    for item in args.stages:
        name, sep, command = item.partition("=")
        if not sep or not command:
            parser.error(f"expected NAME=COMMAND, got {shlex.quote(item)}")
        stages.append((name, command))
    unknown = set(args.together) - {name for name, _ in stages}
    if unknown:
        parser.error(f"--together names no stage: {sorted(unknown)}")
    groups: list[list[tuple[str, str]]] = []
    for stage in stages:
        if stage[0] in args.together and groups and groups[-1][0][0] in args.together:
            groups[-1].append(stage)
        else:
            groups.append([stage])
    start, results = time.monotonic(), []
    for group in groups:
        results += run_group(group)
        if any(r["rc"] != 0 for r in results):
            break
    print(summary(results, time.monotonic() - start), flush=True)
    return 1 if any(r["rc"] != 0 for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
