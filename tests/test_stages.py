"""tools/stages.py: the stage runner of `make test` (order, groups, failures, the summary)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ROOT / "tools" / "stages.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STAGES), *args], capture_output=True, text=True)


def test_stages_run_in_order_and_the_summary_lists_each(tmp_path):
    log = tmp_path / "log"
    result = run(f"first=echo one >> {log}", f"second=echo two >> {log}")
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["one", "two"]
    table = result.stdout.split("stage ")[1].splitlines()
    assert [line.split()[0] for line in table[1:]] == ["first", "second", "total"]
    assert "CPU s" in table[0] and "on " in table[-1]


def test_cpu_seconds_count_what_the_stage_started():
    busy = f"{sys.executable} -c 'sum(i * i for i in range(3_000_000))'"
    result = run(f'busy=sh -c "{busy}"')
    row = next(line for line in result.stdout.splitlines() if line.startswith("busy "))
    assert float(row.split()[3]) > 0  # the child's CPU, not the runner's


def test_a_failing_stage_stops_the_run_and_fails_it(tmp_path):
    marker = tmp_path / "ran"
    result = run("bad=exit 3", f"after=touch {marker}")
    assert result.returncode == 1
    assert not marker.exists()
    assert any(line.split()[:2] == ["bad", "3"] for line in result.stdout.splitlines())


def test_stages_named_together_run_at_the_same_time(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    # each waits for the other's file: only possible when both run at once
    wait = "for i in $(seq 100); do [ -e {0} ] && exit 0; sleep 0.1; done; exit 1"
    result = run(
        f"a=touch {a}; " + wait.format(b),
        f"b=touch {b}; " + wait.format(a),
        "--together",
        "a",
        "b",
    )
    assert result.returncode == 0, result.stdout


def test_bad_arguments_are_usage_errors():
    assert run("no-equals-sign").returncode == 2
    assert run("a=true", "--together", "z").returncode == 2


def test_cpu_of_processes_nobody_waits_for_is_sampled():
    # the busy child's parent execs `sleep`, which never waits for it: wait4 cannot see it
    busy = f"{sys.executable} -c 'sum(i * i for i in range(30_000_000))'"
    result = run(f'orphan=sh -c "{busy} & exec sleep 4"')
    row = next(line for line in result.stdout.splitlines() if line.startswith("orphan "))
    assert float(row.split()[3]) > 0.3, result.stdout


def test_output_of_stages_run_together_does_not_interleave():
    lines = "for i in 1 2 3; do echo {0}$i; sleep 0.2; done"
    result = run(f"a={lines.format('a')}", f"b={lines.format('b')}", "--together", "a", "b")
    out = result.stdout.splitlines()
    for name in ("a", "b"):
        start = out.index(f"---- output of {name} ----")
        assert out[start + 1 : start + 4] == [f"{name}1", f"{name}2", f"{name}3"]
