import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# one XLA compilation cache for the session and the processes its tests start (removed at the end)
XLA_CACHE = os.environ.setdefault("NNBIN_XLA_CACHE", tempfile.mkdtemp(prefix="nnbin-test-xla-"))

import pytest  # noqa: E402

WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # set in pytest-xdist's workers (pyproject: -n 2)


@pytest.fixture
def write_csv(tmp_path):
    """Write text to a file in tmp_path and return its path."""
    def write(text: str, name: str = "table.csv", encoding: str = "utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path
    return write


def pytest_collection_modifyitems(session, config, items):
    """Under pytest-xdist the Ray scenarios' module goes first: the worker that takes it waits
    on Ray's own processes (~90 s) while the other worker runs the rest."""
    if WORKER:
        items.sort(key=lambda item: item.path.name != "test_ray.py")  # stable: the rest keep their order


def pytest_collection_finish(session):
    """The Ray scenarios (tests/test_ray.py) run mostly in processes of their own: without
    pytest-xdist, start them as soon as they are collected, so that they overlap the other
    tests (under xdist, the worker that runs the module starts them)."""
    ray_tests = [item for item in session.items if item.path.name == "test_ray.py"]
    if ray_tests and not WORKER:
        ray_tests[0].module.start_scenarios(session.config)


def pytest_sessionfinish(session):
    ray_tests = [item for item in session.items if item.path.name == "test_ray.py"]
    if ray_tests:
        ray_tests[0].module.stop_scenarios(session.config)
    if not WORKER and os.path.basename(XLA_CACHE).startswith("nnbin-test-xla-"):  # ours, not a cache the user named
        shutil.rmtree(XLA_CACHE, ignore_errors=True)
