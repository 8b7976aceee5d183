"""Disk cache of compiled pytensor functions, shared by the processes of one machine.

Compiling a pytensor function has two parts: *rewriting* its graph (canonicalising,
fusing, specialising; a few seconds for the log density and gradient of the joint
model) and *linking* the rewritten graph to numba machine code. pytensor caches the
machine code on disk, but not the rewritten graph, so every new process rewrites
again. A pickled :class:`pytensor.compile.function.types.Function` keeps its
rewritten graph, and unpickling it only links (from numba's disk cache), so
:func:`cached` stores the compiled functions of a model and loads them in the next
process.

Entries live in ``<pytensor base_compiledir>/bayes_ketamine/<key>.pkl``, next to
pytensor's own caches, and are written atomically (temporary file, then rename).
The caller's key must identify the graph completely: :func:`model_graph_key` of
:mod:`bayes_ketamine.inference.provenance` hashes the spec, the data, the model code
and the versions of the compiling packages. An entry that cannot be read (truncated,
written by other package versions) is rebuilt and replaced. Set
``BAYES_KETAMINE_COMPILE_CACHE=0`` to bypass the cache. The folder is kept under
:data:`MAX_BYTES` by deleting the least recently used entries after each store; it
can be deleted at any time. Inside :func:`kept_in_memory` (a long-lived worker
process fitting many folds of one design), loaded entries are also kept in the
process, so only the first use of a key pays for unpickling and linking. Entries
are pickles, trusted as pytensor's and numba's own on-disk caches are: the folder
belongs to the user running the fits.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from bayes_ketamine.digests import sha256_hex
from bayes_ketamine.inference.artifact import atomic_write

ENV_SWITCH = "BAYES_KETAMINE_COMPILE_CACHE"
"""Environment variable; ``0`` disables the cache (every call builds)."""

MAX_BYTES = 512 * 2**20
"""Size the entries may take together; the least recently used go first (about 4 MB
per model graph for the joint model on the default study)."""


_IN_MEMORY: dict[str, object] = {}
"""Entries loaded inside :func:`kept_in_memory`, by key (this process only)."""

_KEEP = [False]


@contextlib.contextmanager
def kept_in_memory() -> Iterator[dict[str, object]]:
    """Within the block, :func:`cached` also keeps what it loads in this process.

    The entries stay after the block (the next block uses them); the yielded dict is
    that store, by key. Only for callers that bind their own data before every use
    of a loaded function, as every user of this cache does.
    """
    before = _KEEP[0]
    _KEEP[0] = True
    try:
        yield _IN_MEMORY
    finally:
        _KEEP[0] = before


def cache_dir() -> Path:
    """Return the folder of the cache entries (inside pytensor's ``base_compiledir``)."""
    import pytensor

    return Path(pytensor.config.base_compiledir) / "bayes_ketamine"


def enabled() -> bool:
    """Whether the cache is used (``BAYES_KETAMINE_COMPILE_CACHE`` is not ``0``)."""
    return os.environ.get(ENV_SWITCH, "1") != "0"


def cache_key(purpose: str, graph_key: str, *builders: ModuleType) -> str:
    """Return the entry key of the ``purpose`` functions of the graph ``graph_key``.

    Parameters
    ----------
    purpose : str
        What the functions are for (``"nutpie"``, ``"log_density"``, ...).
    graph_key : str
        Identifies the model graph (:func:`~bayes_ketamine.inference.provenance.model_graph_key`).
    *builders : module
        The modules whose code builds the functions; their sources enter the key, so
        an edit to any of them rebuilds.

    Returns
    -------
    str
        ``<purpose>-<SHA-256 hex digest>``.
    """
    sources = [Path(str(builder.__file__)).read_bytes() for builder in builders]
    return f"{purpose}-{sha256_hex(graph_key, purpose, *sources)}"


def cached[T](key: str, build: Callable[[], T]) -> T:
    """Return the value stored under ``key``, or ``build()`` it and store it.

    Parameters
    ----------
    key : str
        Identifies the value completely (file-name safe: letters, digits, ``-``, ``_``).
    build : callable
        Builds the value; it must be picklable (else it is returned but not stored).

    Returns
    -------
    object
        The stored or freshly built value.
    """
    if _KEEP[0]:
        if key not in _IN_MEMORY:
            _KEEP[0] = False
            try:
                _IN_MEMORY[key] = cached(key, build)
            finally:
                _KEEP[0] = True
        return _IN_MEMORY[key]  # type: ignore[return-value]
    if not enabled():
        return build()
    path = cache_dir() / f"{key}.pkl"
    try:
        with path.open("rb") as handle:
            value = pickle.load(handle)
        os.utime(path)  # recently used entries are the last to be pruned
        return value
    except FileNotFoundError:
        pass
    except Exception as err:  # noqa: BLE001 - any unreadable entry is rebuilt
        warnings.warn(
            f"compile cache entry {path} is unreadable ({type(err).__name__}: {err}); rebuilding",
            RuntimeWarning,
            stacklevel=2,
        )
    value = build()
    payload = _store(path, value)
    prune(cache_dir(), MAX_BYTES)
    # Use what the next process will load: numba's machine code of an unpickled
    # function is cached under other keys than that of the freshly compiled one, so
    # returning ``value`` would leave the next process to compile it again.
    return value if payload is None else pickle.loads(payload)


def prune(folder: Path, max_bytes: int) -> list[Path]:
    """Delete the least recently used entries of ``folder`` until it holds ``max_bytes``.

    Parameters
    ----------
    folder : pathlib.Path
        The cache folder.
    max_bytes : int
        Size the entries may take together.

    Returns
    -------
    list of pathlib.Path
        The deleted entries, oldest first.
    """
    entries = []
    for path in folder.glob("*.pkl"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted by another process meanwhile
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    deleted = []
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return deleted


def _store(path: Path, value: object) -> bytes | None:
    """Pickle ``value`` to ``path`` atomically and return the pickle.

    On failure (an unpicklable value, an unwritable folder) warn, store nothing and
    return ``None``.
    """
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - an unpicklable value is used, not stored
        warnings.warn(
            f"compiled functions for {path.name} cannot be cached ({type(err).__name__}: {err})",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    try:
        atomic_write(path, lambda tmp: tmp.write_bytes(payload))
    except OSError as err:
        warnings.warn(
            f"could not store compile cache entry {path}: {err}", RuntimeWarning, stacklevel=3
        )
        return None
    return payload
