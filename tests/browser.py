"""Headless Chromium for the report tests: where it is, a skip mark without it, and one call."""
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")


def chromium(profile: Path, *arguments) -> str:
    """Run headless Chromium (its profile in `profile`) with `arguments`; its stdout (the DOM with
    --dump-dom). Fails the test on a non-zero exit, with Chromium's stderr."""
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
