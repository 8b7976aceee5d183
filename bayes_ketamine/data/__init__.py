"""Trial data: load, validate, simulate, import and summarise crossover studies.

The on-disk format and the validation rules are documented in
``docs/data_format.md``.

The public names (listed in ``__init__.pyi``) are imported on first use (PEP 562,
``lazy_loader``), so importing this package
does not import pandas or xarray.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
