"""Results for the manuscript, read from fitted artifacts only (never refitting).

:class:`Posteriors` loads a folder of artifacts; :func:`write_numbers` writes the
headline numbers as JSON and as LaTeX macros; :mod:`.fit_report` tells what one fit
means in plain words (``fit`` and ``check``).

The public names (listed in ``__init__.pyi``) are imported on first use (PEP 562,
``lazy_loader``), so importing :mod:`bayes_ketamine.reporting.fit_report` does not
import xarray.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
