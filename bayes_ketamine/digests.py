r"""SHA-256 digests: the one way the package turns content into a key.

Every key of the package is made here: the provenance key of a fit, the content hashes
of a spec and a study, the compile-cache and C-callback keys, the structure key and the
task keys of calibration runs. This module is the bottom layer: it imports nothing of
the package.

>>> sha256_hex("a", "b") == sha256_hex(b"a\0b")
True
>>> digest(b=1, a=[2, 3]) == sha256_hex('{"a": [2, 3], "b": 1}')
True
"""

from __future__ import annotations

import hashlib
import json


def sha256_hex(*parts: str | bytes) -> str:
    """Return the SHA-256 hex digest of ``parts`` joined by NUL bytes.

    Parameters
    ----------
    *parts : str or bytes
        The content; strings are encoded as UTF-8. One part is hashed as it is.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    encoded = [p.encode() if isinstance(p, str) else p for p in parts]
    return hashlib.sha256(b"\0".join(encoded)).hexdigest()


def digest(**fields: object) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of ``fields`` (keys sorted)."""
    return sha256_hex(json.dumps(fields, sort_keys=True))
