"""planrun's live account of one pytest run: the tests collected, then each test's outcome as
it ends, one JSON line each, so that a run stopped by its timeout still says which tests had not
finished and how many had passed. Loaded with `-p planrun_live`; writes to $PLANRUN_LIVE and
never fails the run (pytest-xdist workers load it too and append to the same file)."""

import json
import os

_PATH = os.environ.get("PLANRUN_LIVE")


def _write(record):
    if not _PATH:
        return
    try:
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    except Exception:
        pass


def pytest_collection_finish(session):
    _write({"collected": [item.nodeid for item in session.items]})


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _write({"id": report.nodeid, "when": report.when, "outcome": report.outcome})
