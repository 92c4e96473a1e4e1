"""User-facing errors: one line that names the problem and the fix.

The CLI prints these without a traceback and exits with code 2.
"""


class NnbinError(Exception):
    """A mistake in the user's input (config, data, command line)."""


class ConfigError(NnbinError, ValueError):
    """An invalid experiment configuration or model spec."""


class DataError(NnbinError, ValueError):
    """A dataset that cannot be used as a binary classification table."""


class Interrupted(NnbinError):
    """Ctrl-C during training: finished trials are saved; the same command resumes."""


class NnbinWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI prints it on one line."""
