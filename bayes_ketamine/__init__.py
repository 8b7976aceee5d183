"""bayes_ketamine: Bayesian models of ketamine crossover trials with opioid blockade.

The layers, bottom to top, each importing only those below it (kept true by
``tests/test_layering.py``, which also forbids import cycles):

- :mod:`bayes_ketamine.digests`: SHA-256 keys (the one digest helper);
- :mod:`bayes_ketamine.data`: studies (read, validate, simulate, import NIMH data);
- :mod:`bayes_ketamine.models`: the glutamate, symptom and joint model families;
- :mod:`bayes_ketamine.inference`: fitting, checks and netCDF artifacts;
- :mod:`bayes_ketamine.reporting`: numbers and tables from artifacts;
- :mod:`bayes_ketamine.figures`: figures from artifacts;
- :mod:`bayes_ketamine.calibration`: simulation-based calibration and design analysis;
- :mod:`bayes_ketamine.pipeline`: the full analysis;
- :mod:`bayes_ketamine.cli`: the ``bayes-ketamine`` command line.
"""

__version__ = "0.1.0"
