"""bayes_ketamine: Bayesian models of ketamine crossover trials with opioid blockade.

The layers, each importing only those below it:

- :mod:`bayes_ketamine.data`: studies (read, validate, simulate, import NIMH data);
- :mod:`bayes_ketamine.models`: the glutamate, symptom and joint model families;
- :mod:`bayes_ketamine.inference`: fitting, checks and netCDF artifacts;
- :mod:`bayes_ketamine.figures`, :mod:`bayes_ketamine.reporting`: figures and numbers
  from artifacts;
- :mod:`bayes_ketamine.calibration`: simulation-based calibration and design analysis;
- :mod:`bayes_ketamine.pipeline` and :mod:`bayes_ketamine.cli`: the full analysis and
  the ``bayes-ketamine`` command line.
"""

__version__ = "0.1.0"
