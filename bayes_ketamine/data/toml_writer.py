"""Write ``study.toml`` files (the standard library reads TOML but cannot write it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def dumps(data: Mapping[str, Any]) -> str:
    """Serialise a mapping as TOML.

    Values may be strings, booleans, integers, floats (including NaN and infinities),
    lists of these (nested lists allowed) and mappings, which become tables.

    Parameters
    ----------
    data : Mapping
        The document.

    Returns
    -------
    str
        TOML text that :func:`tomllib.loads` reads back to an equal mapping.

    Examples
    --------
    >>> print(dumps({"name": "x", "symptoms": {"min": 0}}), end="")
    name = "x"
    <BLANKLINE>
    [symptoms]
    min = 0
    """
    return "".join(_table(data, ()))


def _table(data: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    out: list[str] = []
    if path and (scalars or not tables):
        out.append(f"\n[{'.'.join(_key(part) for part in path)}]\n")
    out.extend(f"{_key(key)} = {_value(value)}\n" for key, value in scalars)
    for key, value in tables:
        out.extend(_table(value, (*path, str(key))))
    return out


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else _string(key)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{escaped}"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to TOML")
