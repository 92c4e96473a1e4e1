"""User-facing errors (defined in nnbin.core.errors, which imports nothing): one line that
names the problem and the fix; the CLI prints them without a traceback and exits with code 2."""
from nnbin.core.errors import ConfigError, DataError, Interrupted, NnbinError, NnbinWarning

__all__ = ["ConfigError", "DataError", "Interrupted", "NnbinError", "NnbinWarning"]
