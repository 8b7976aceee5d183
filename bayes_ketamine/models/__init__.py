"""Model families for the crossover design, built from a spec and a study.

>>> from bayes_ketamine.data import default_study
>>> from bayes_ketamine.models import build_model, resolve_spec
>>> model = build_model(resolve_spec("joint_partial"), default_study())
>>> sorted(rv.name for rv in model.pymc_model.observed_RVs)
['log_glx', 'score']

The public names (listed in ``__init__.pyi``) are imported on first use (PEP 562,
``lazy_loader``): specs need only the standard library; the model families and
:func:`build_model` import PyMC.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
