"""planrun's live account of one pytest run: the tests collected (their ids and markers), then
each test's outcome as it ends, one JSON line each, so that a run stopped by its timeout still
says which tests had not finished and how many had passed; and each test process's resident
memory before its first test and after every test, so planrun can tell how much a process grew
while running tests (start-up and collection excluded). Loaded with `-p planrun_live`; writes to
$PLANRUN_LIVE and never fails the run (pytest-xdist workers load it too and append to the same
file).

In a sharded run ($PLANRUN_SHARD_PLAN names the balance planrun computed, $PLANRUN_SHARD_INDEX
this process's shard from 0) it also keeps only its shard's tests, placing a test the balance
does not name as planrun would: sorted by id, each on the least loaded shard at the mean known
duration (`balance.rs`, `Balance::place`), and says which tests it chose from."""

import json
import os

import pytest

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


def _shard_of(items, plan):
    loads = list(plan["loads"])
    assign = plan["assign"]
    placed = {}
    for nodeid in sorted({item.nodeid for item in items if item.nodeid not in assign}):
        shard = loads.index(min(loads))
        loads[shard] += plan["estimate"]
        placed[nodeid] = shard
    return lambda nodeid: assign[nodeid] if nodeid in assign else placed[nodeid]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    path = os.environ.get("PLANRUN_SHARD_PLAN")
    if not path:
        return
    with open(path, encoding="utf-8") as source:
        plan = json.load(source)
    mine = int(os.environ["PLANRUN_SHARD_INDEX"])
    shard_of = _shard_of(items, plan)
    _write({"shard_of": [item.nodeid for item in items]})
    keep = [item for item in items if shard_of(item.nodeid) == mine]
    dropped = [item for item in items if shard_of(item.nodeid) != mine]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep



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
