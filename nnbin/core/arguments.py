"""Keyword-only arguments that still accept yesterday's positional calls, with a warning.

Public functions take their first one or two arguments by position and the rest by
keyword. Calls written before that rule keep working: the extra positional values are
passed on by name, with a FutureWarning that names the keywords to write (as
scikit-learn's ``_deprecate_positional_args`` did for its estimators).
"""
import functools
import inspect
import warnings


def keyword_only(function):
    """Let `function`'s keyword-only parameters still be passed by position, with a FutureWarning.

    Parameters
    ----------
    function : callable
        A function whose signature marks the keyword-only parameters with ``*``.

    Returns
    -------
    callable
        The same function, with the same signature and docstring.

    Example
    -------
    >>> @keyword_only
    ... def scale(x, *, factor=2):
    ...     return x * factor
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     scale(3, 10)
    30
    >>> str(caught[0].message)
    'scale(): pass factor=... by keyword; passing it by position will stop working in a future release'
    """
    parameters = inspect.signature(function).parameters.values()
    positional = [p.name for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in parameters if p.kind == p.KEYWORD_ONLY]

    @functools.wraps(function)
    def call(*args, **kwargs):
        extra = len(args) - len(positional)
        if extra <= 0:
            return function(*args, **kwargs)
        if extra > len(keyword):
            raise TypeError(f"{function.__name__}() takes {len(positional)} positional arguments "
                            f"and {len(keyword)} keyword arguments, but {len(args)} were given by position")
        names = keyword[:extra]
        given = [name for name in names if name in kwargs]
        if given:
            raise TypeError(f"{function.__name__}() got multiple values for argument {given[0]!r}")
        warnings.warn(f"{function.__name__}(): pass {', '.join(f'{n}=...' for n in names)} by keyword; "
                      "passing it by position will stop working in a future release",
                      FutureWarning, stacklevel=2)
        kwargs.update(zip(names, args[len(positional):]))
        return function(*args[:len(positional)], **kwargs)

    return call
