"""The public-API convention (``docs/architecture.md``) and its one-release deprecations.

Public functions take their data first, positionally, and every option by keyword;
the same idea has the same name everywhere (``out_dir``, ``progress``, ``seed``,
``settings``). Calls written against the earlier signatures keep working for one
release through :func:`deprecated_call_forms`, with a :class:`DeprecationWarning`
that names the new spelling.

>>> import warnings
>>> @deprecated_call_forms(positional=("study",), renamed={"out": "out_dir"})
... def fit(spec, *, study=None, out_dir="posteriors"):
...     return spec, study, out_dir
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     fit("m", "s", out="o")
('m', 's', 'o')
>>> [str(w.message) for w in caught]  # doctest: +NORMALIZE_WHITESPACE
['fit: pass study by keyword (study=...); passing it by position is deprecated',
 'fit: out= is deprecated; use out_dir=']
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence


def deprecated_call_forms[**P, R](
    *, data: int = 1, positional: Sequence[str] = (), renamed: Mapping[str, str] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept a function's earlier call forms for one release, warning on each use.

    Parameters
    ----------
    data : int, default 1
        Number of leading positional (data) parameters.
    positional : sequence of str
        The parameters, in their old order, that used to follow the data arguments
        positionally and are keyword-only now.
    renamed : mapping of str to str, optional
        Old keyword name to new keyword name.

    Returns
    -------
    callable
        A decorator; the decorated function keeps its new signature for type checkers.
    """
    renames = dict(renamed or {})

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if len(args) > data:
                extra = args[data:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{name}() takes {data} positional argument(s), got {len(args)}"
                    )
                for key, value in zip(positional, extra, strict=False):
                    if key in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {key!r}")
                    warnings.warn(
                        f"{name}: pass {key} by keyword ({key}=...); "
                        "passing it by position is deprecated",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[key] = value
                args = args[:data]  # type: ignore[assignment]
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got both {old}= and {new}=")
                    warnings.warn(
                        f"{name}: {old}= is deprecated; use {new}=",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate
