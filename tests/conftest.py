import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# one XLA compilation cache for the session and the processes its tests start (removed at the end)
if "NNBIN_XLA_CACHE" not in os.environ:  # made once, by the controller; the workers inherit it
    os.environ["NNBIN_XLA_CACHE"] = tempfile.mkdtemp(prefix="nnbin-test-xla-")
XLA_CACHE = os.environ["NNBIN_XLA_CACHE"]

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


CONTROLLER_RAY = pytest.StashKey[dict]()


def _selects_ray_tests(config) -> bool:
    """The command line runs tests/test_ray.py (the whole suite, the tests folder or the file;
    not with -k or -m, which may leave it out)."""
    if config.option.keyword or config.option.markexpr:
        return False
    ray_file = Path(__file__).with_name("test_ray.py").resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == ray_file or (path.is_dir() and path in ray_file.parents):
            return True
    return False


def pytest_configure(config):
    """The pytest-xdist controller starts the Ray scenarios before its workers exist, so that
    they overlap every test; the worker that runs tests/test_ray.py waits for their end."""
    if WORKER or not getattr(config.option, "numprocesses", None) or not _selects_ray_tests(config):
        return
    import ray_scenarios

    config.stash[CONTROLLER_RAY] = ray_scenarios.start()
    os.environ[ray_scenarios.ENV] = str(config.stash[CONTROLLER_RAY]["base"])  # the workers inherit it


def pytest_unconfigure(config):
    if CONTROLLER_RAY in config.stash:
        import ray_scenarios

        ray_scenarios.stop(config.stash[CONTROLLER_RAY])


def pytest_collection_modifyitems(session, config, items):
    """Under pytest-xdist the Ray scenarios' module goes last: by the time a worker takes it,
    the scenarios the controller started have (nearly) ended."""
    if WORKER:
        items.sort(key=lambda item: item.path.name == "test_ray.py")  # stable: the rest keep their order


def pytest_collection_finish(session):
    """The Ray scenarios (tests/test_ray.py) run mostly in processes of their own: without
    pytest-xdist, start them as soon as they are collected, so that they overlap the other
    tests (under xdist the controller started them, or the worker that runs the module does)."""
    ray_tests = [item for item in session.items if item.path.name == "test_ray.py"]
    if ray_tests and not WORKER:
        ray_tests[0].module.start_scenarios(session.config)


def pytest_sessionfinish(session):
    ray_tests = [item for item in session.items if item.path.name == "test_ray.py"]
    if ray_tests:
        ray_tests[0].module.stop_scenarios(session.config)
    if not WORKER and os.path.basename(XLA_CACHE).startswith("nnbin-test-xla-"):  # ours, not a cache the user named
        shutil.rmtree(XLA_CACHE, ignore_errors=True)
