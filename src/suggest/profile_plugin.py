"""planrun's profile of one pytest run, for `planrun suggest`: each test's setup, call and
teardown time and the CPU time the process spent in each; each fixture's own setup time and CPU time (its dependencies excluded) by name and scope;
collection time; and what each test does that matters for running tests in parallel or
sharing a fixture: SQLite databases it connects to, files it creates under the temp directory,
PostgreSQL connections, SQLAlchemy engines created (by which fixture), and files outside the temp directory it writes or reads that other
tests touch too. With PLANRUN_PROFILE_REVERSE=1 it runs the tests in reverse order (the
second run, for order dependence). Loaded with `-p planrun_profile`; writes JSON lines to $PLANRUN_PROFILE and
never fails the run. It also says the Python version, whether coverage measures the run (and with which
tracer and configuration file), pytest-django's options (and, after the run, whether its test
databases live in memory and which of the repository's migrations are data migrations) and, on Linux, how much of a CPU the
process got while its tests wanted one (/proc/self/schedstat: a busy machine's contention). Observation goes through audit hooks (PEP 578), which cost one Python call
per audited event, and a wrapper around psycopg's, psycopg2's and asyncpg's connect when they are installed."""

import json
import os
import sys
import tempfile
import time

import pytest

_PATH = os.environ.get("PLANRUN_PROFILE")
_PID = str(os.getpid())
_TMP = os.path.realpath(tempfile.gettempdir())
_PREFIXES = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
_PG_PORTS = (5432, 5433)

_test = None  # The node id of the test running now.
_fixtures = []  # The fixtures being set up now, innermost last.
_fixture_stats = {}  # (name, scope, baseid) -> [count, seconds]
_session_setup = {}  # test -> seconds of session-scoped fixtures set up during its setup
_touch = {}  # path -> [set of tests that wrote it, set of tests that read it]
_sqlite = {}  # path -> {"tests": set, "fixtures": set}
_tmp_created = {}  # test -> count
_pg = {}  # test -> count
_collect_started = None
_in_call = False  # Whether the test's own body is running (not pytest's hooks around it).
_controller = False  # This process is pytest-xdist's controller: its workers report the tests.
_root = None  # The rootdir: a repository under the temp directory is still the repository.
_engines = {}  # fixture (or "<test>" for a test body) -> SQLAlchemy engines created
_sched = None  # (cpu ns, run-queue wait ns, perf_counter) when the tests began (Linux)
_phase_cpu = {}  # (node id, phase) -> CPU seconds of the process during that phase


def _schedstat():
    # Linux's per-task scheduler account: nanoseconds on a CPU, nanoseconds runnable but
    # waiting for one. Their ratio is the share of a CPU this process got while it wanted one.
    try:
        with open("/proc/self/schedstat", encoding="ascii") as stat:
            on_cpu, waiting = stat.read().split()[:2]
        return int(on_cpu), int(waiting), time.perf_counter()
    except Exception:
        return None


def _write(record):
    if not _PATH:
        return
    try:
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    except Exception:
        pass


def _fixture():
    return _fixtures[-1] if _fixtures else None


def _text(path):
    if isinstance(path, bytes):
        try:
            return os.fsdecode(path)
        except Exception:
            return None
    return path if isinstance(path, str) else None


def _opened(path, mode, flags):
    if _test is None:
        return
    path = _text(path)
    if not path or path.endswith((".py", ".pyc", ".so")):
        return
    path = os.path.realpath(path)
    if path.startswith(_PREFIXES) or path.startswith("/proc/") or path.startswith("/dev/"):
        return
    writing = False
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        writing = True
    if isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        writing = True
    inside_root = _root is not None and path.startswith(_root + os.sep)
    if path == _TMP or (path.startswith(_TMP + os.sep) and not inside_root):
        # pytest's own capture files are made outside fixtures and test bodies.
        made = writing and isinstance(flags, int) and flags & os.O_CREAT
        if made and (_fixtures or _in_call):
            _tmp_created[_test] = _tmp_created.get(_test, 0) + 1
        return
    # A path named after this process (a per-process cache or lock) is not shared by workers.
    if _PID in os.path.basename(path) or os.path.isdir(path):
        return
    entry = _touch.setdefault(path, [set(), set()])
    entry[0 if writing else 1].add(_test)


def _audit(event, args):
    try:
        if event == "open":
            _opened(args[0], args[1], args[2])
        elif event == "os.rename":
            _opened(args[1], "w", None)
        elif event == "sqlite3.connect":
            if _test is not None or _fixtures:
                path = _text(args[0]) or ""
                memory = path in ("", ":memory:") or path.startswith("file::memory:")
                key = ":memory:" if memory else os.path.realpath(path)
                entry = _sqlite.setdefault(key, {"tests": set(), "fixtures": set()})
                if _test is not None:
                    entry["tests"].add(_test)
                if _fixture() is not None:
                    entry["fixtures"].add(_fixture())
        elif event == "socket.connect" and _test is not None:
            address = args[1]
            port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
            if port in _PG_PORTS or (isinstance(address, str) and ".s.PGSQL." in address):
                _pg[_test] = _pg.get(_test, 0) + 1
    except Exception:
        pass


def _wrap_postgres():
    # A server on another port than 5432/5433 (a throwaway one on a free port, as the backend
    # plan starts) is seen through its drivers' connect, which SQLAlchemy's dialects call as
    # module attributes: psycopg, psycopg2 and asyncpg (whose connect returns a coroutine).
    import importlib.util

    for name in ("psycopg", "psycopg2", "asyncpg"):
        try:
            if importlib.util.find_spec(name) is None:
                continue
            module = __import__(name)
        except Exception:
            continue
        original = module.connect

        def connect(*args, __original=original, **kwargs):
            if _test is not None:
                _pg[_test] = _pg.get(_test, 0) + 1
            return __original(*args, **kwargs)

        module.connect = connect


def _wrap_sqlalchemy():
    # At import, before conftests bind `from sqlalchemy import create_engine`.
    import importlib.util

    try:
        if importlib.util.find_spec("sqlalchemy") is None:
            return
        import sqlalchemy
    except Exception:
        return
    original = getattr(sqlalchemy, "create_engine", None)
    if original is None:
        return

    def create_engine(*args, __original=original, **kwargs):
        if _test is not None or _fixtures:
            key = _fixture() or "<test>"
            _engines[key] = _engines.get(key, 0) + 1
        return __original(*args, **kwargs)

    sqlalchemy.create_engine = create_engine
    try:
        sqlalchemy.engine.create_engine = create_engine
    except Exception:
        pass


sys.addaudithook(_audit)
_wrap_sqlalchemy()


def pytest_configure(config):
    global _root, _PATH
    # The collect-only pass that warms the bytecode before the first run reports nothing.
    if config.option.collectonly:
        _PATH = None
    # A suite whose own configuration already runs it on xdist workers (`-n` in addopts).
    global _controller
    _controller = config.pluginmanager.has_plugin("dsession")
    if _controller or os.environ.get("PYTEST_XDIST_WORKER"):
        _write({"xdist": True})
    try:
        _root = os.path.realpath(str(config.rootpath))
    except Exception:
        _root = None
    _wrap_postgres()
    _write({"python": list(sys.version_info[:2])})
    django = config.pluginmanager.hasplugin("django")
    if django:
        _write(
            {
                "django": {
                    "reuse_db": bool(config.getoption("reuse_db", False)),
                    "nomigrations": bool(config.getoption("nomigrations", False)),
                }
            }
        )


def pytest_sessionstart(session):
    # pytest-cov (or COVERAGE_PROCESS_START) has started coverage by now.
    try:
        import coverage

        cov = coverage.Coverage.current()
    except Exception:
        return
    if cov is None:
        return
    tracer = ""
    try:
        tracer = cov._collector.core.tracer_class.__name__
    except Exception:
        tracer = type(sys.gettrace()).__name__ if sys.gettrace() is not None else ""
    config_file, branch = None, False
    try:
        config_file = cov.config.config_file
        branch = bool(cov.config.branch)
    except Exception:
        pass
    plugin = session.config.pluginmanager.hasplugin("_cov")
    _write(
        {
            "coverage": {
                "tracer": tracer,
                "config_file": config_file,
                "branch": branch,
                "pytest_cov": plugin,
            }
        }
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    # The second run of `planrun suggest` goes in reverse order: a test that passes only after
    # (or before) another shows as an outcome that differs between the runs.
    if os.environ.get("PLANRUN_PROFILE_REVERSE") == "1":
        items.reverse()


def pytest_collection(session):
    global _collect_started
    _collect_started = time.perf_counter()


def pytest_collection_finish(session):
    global _sched
    _sched = _schedstat()
    if _collect_started is not None:
        _write({"collection": time.perf_counter() - _collect_started, "tests": len(session.items)})


def pytest_runtest_logstart(nodeid, location):
    global _test
    _test = nodeid


def pytest_runtest_logfinish(nodeid, location):
    global _test
    _test = None


def _cpu_of(item, when):
    # The process's CPU seconds (all its threads) during one phase: what is left of the phase
    # when its waits (I/O, sleeps, other processes) are gone.
    started = time.process_time()
    try:
        yield
    finally:
        _phase_cpu[(item.nodeid, when)] = time.process_time() - started


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _cpu_of(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    global _in_call
    _in_call = True
    try:
        yield from _cpu_of(item, "call")
    finally:
        _in_call = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _cpu_of(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    _fixtures.append(fixturedef.argname)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        _fixtures.pop()
        key = (fixturedef.argname, fixturedef.scope, fixturedef.baseid or "")
        stat = _fixture_stats.setdefault(key, [0, 0.0, 0.0])
        stat[0] += 1
        stat[1] += spent
        stat[2] += time.process_time() - started_cpu
        if fixturedef.scope == "session" and _test is not None:
            _session_setup[_test] = _session_setup.get(_test, 0.0) + spent


def pytest_runtest_logreport(report):
    if _controller:
        return
    record = {
        "test": report.nodeid,
        "when": report.when,
        "seconds": report.duration,
        "outcome": report.outcome,
    }
    # A subtest's report comes during its test's call, before the call's CPU is known.
    cpu = _phase_cpu.pop((report.nodeid, report.when), None)
    if cpu is not None:
        record["cpu"] = cpu
    _write(record)


def _django_database():
    # After the run, with Django set up: whether each test database lives in memory (SQLite's
    # default: --reuse-db cannot keep it) and which of the repository's own migrations run
    # Python or SQL (data migrations: a database built with --nomigrations lacks their rows).
    # Django's and other installed apps' migrations are left out: the post_migrate signal
    # makes what theirs make.
    try:
        from django.apps import apps
        from django.db import connections
        from django.db.migrations.loader import MigrationLoader
        from django.db.migrations.operations.special import RunPython, RunSQL

        if not apps.ready:
            return None
        databases = []
        for alias in connections:
            connection = connections[alias]
            name = (connection.settings_dict.get("TEST") or {}).get("NAME")
            memory = connection.vendor == "sqlite" and (
                not name or connection.creation.is_in_memory_db(str(name))
            )
            databases.append({"alias": alias, "vendor": connection.vendor, "memory": bool(memory)})
        data = []
        loader = MigrationLoader(None, ignore_no_migrations=True)
        for (label, name), migration in sorted(loader.disk_migrations.items()):
            try:
                path = os.path.realpath(apps.get_app_config(label).path)
            except Exception:
                continue
            if _root is None or not path.startswith(_root + os.sep):
                continue
            if any(isinstance(op, (RunPython, RunSQL)) for op in migration.operations):
                data.append(f"{label}.{name}")
        return {"databases": databases, "data_migrations": data}
    except Exception:
        return None


def pytest_sessionfinish(session):
    end = _schedstat()
    if session.config.pluginmanager.hasplugin("django") and not _controller:
        database = _django_database()
        if database is not None:
            _write({"django_db": database})
    if _sched is not None and end is not None and not _controller:
        _write(
            {
                "sched": {
                    "cpu": (end[0] - _sched[0]) / 1e9,
                    "wait": (end[1] - _sched[1]) / 1e9,
                    "elapsed": end[2] - _sched[2],
                }
            }
        )
    _write(
        {
            "fixtures": [
                {
                    "name": name,
                    "scope": scope,
                    "where": where,
                    "count": count,
                    "seconds": seconds,
                    "cpu": cpu,
                }
                for (name, scope, where), (count, seconds, cpu) in sorted(_fixture_stats.items())
            ]
        }
    )
    _write(
        {
            "sqlite": [
                {"path": path, "tests": sorted(e["tests"]), "fixtures": sorted(e["fixtures"])}
                for path, e in sorted(_sqlite.items())
            ],
            "tmp_created": _tmp_created,
            "session_setup": _session_setup,
            "postgres": _pg,
            "sqlalchemy": _engines,
        }
    )
    shared = []
    for path, (writers, readers) in sorted(_touch.items()):
        everyone = writers | readers
        if writers and len(everyone) > 1:
            shared.append({"path": path, "writers": sorted(writers), "tests": sorted(everyone)})
    _write({"shared_files": shared})
