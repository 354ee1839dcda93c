"""A long-lived nbgrader process that autogrades one submission after another.

Starting nbgrader costs seconds of CPU per submission (Python, nbconvert, SQLAlchemy...);
``tools/course.py autograde`` keeps a few of these workers instead, each grading the
submissions it is handed, one at a time, through nbgrader's Python API. Protocol: one JSON
line in (``{"assignment", "student", "runtime"}``), nbgrader's log, then one JSON line out,
prefixed with `REPLY` (``{"success": bool}``). The parent enforces each submission's
deadline: a worker that overruns is killed (its kernel dies with it) and replaced, and only
that submission is lost.

Usage: ``python tools/grading/worker.py COURSE`` (from ``tools/course.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPLY = "WORKBOOK-GRADING-WORKER "


def serve(course: Path, lines, out) -> None:
    """Grade each request read from ``lines``; write the log and a reply line to ``out``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    os.chdir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(config=config)
    for line in lines:
        request = json.loads(line)
        os.environ["JUPYTER_RUNTIME_DIR"] = request["runtime"]  # this job's private folder
        result = api.autograde(request["assignment"], request["student"], force=True)
        out.write(result.get("log") or "")
        if result.get("error"):
            out.write(result["error"])
        out.write(f"\n{REPLY}{json.dumps({'success': bool(result['success'])})}\n")
        out.flush()


if __name__ == "__main__":
    here = Path(__file__).resolve()
    sys.path[:0] = [str(here.parents[2]), str(here.parents[1])]  # the project, tools/
    from grading.sandbox import die_with_parent

    die_with_parent()  # autograde killed: this worker, and the kernel it runs, go too
    serve(Path(sys.argv[1]).resolve(), sys.stdin, sys.stdout)
