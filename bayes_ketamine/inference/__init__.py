"""Fitting, checking and storing models: one artifact per fit.

Public API: :func:`fit`, :class:`FitSettings`, :class:`FitResult`,
:func:`load_posterior`, :class:`ArtifactError`, :func:`compare` and
:func:`sample_posterior`.

The public names (listed in ``__init__.pyi``) are imported on first use (PEP 562,
``lazy_loader``), so importing this package (or
:mod:`bayes_ketamine.inference.settings`) does not import PyMC, ArviZ or xarray.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
