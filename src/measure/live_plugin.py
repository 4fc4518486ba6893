"""planrun's live account of one pytest run: the tests collected (their ids and markers), then
each test's outcome as it ends, one JSON line each, so that a run stopped by its timeout still
says which tests had not finished and how many had passed; and each test process's resident
memory before its first test and after every test, so planrun can tell how much a process grew
while running tests (start-up and collection excluded). Loaded with `-p planrun_live`; writes to
$PLANRUN_LIVE and never fails the run (pytest-xdist workers load it too and append to the same
file)."""

import json
import os

_PATH = os.environ.get("PLANRUN_LIVE")
_STARTED = False
_CONFIG = None


def _write(record):
    if not _PATH:
        return
    try:
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    except Exception:
        pass


def _rss_kb():
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except Exception:
        return None


def _rss(start):
    kb = _rss_kb()
    if kb is not None:
        _write({"rss_kb": kb, "pid": os.getpid(), "start": start})


def pytest_configure(config):
    global _CONFIG
    _CONFIG = config


def _runs_tests():
    # pytest-xdist's controller hears of its workers' tests but runs none itself.
    return _CONFIG is None or not _CONFIG.pluginmanager.has_plugin("dsession")


def pytest_collection_finish(session):
    _write({"collected": [item.nodeid for item in session.items]})
    marked = {}
    for item in session.items:
        names = sorted({m.name for m in item.iter_markers()})
        if names:
            marked[item.nodeid] = names
    if marked:
        _write({"markers": marked})


def pytest_runtest_logstart(nodeid, location):
    global _STARTED
    if not _STARTED and _runs_tests():
        _STARTED = True
        _rss(True)


def pytest_runtest_logfinish(nodeid, location):
    if _STARTED:
        _rss(False)


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _write({"id": report.nodeid, "when": report.when, "outcome": report.outcome})
