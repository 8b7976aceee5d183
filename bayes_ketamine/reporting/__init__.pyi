# The public names; imported on first use (lazy_loader.attach_stub in __init__.py).

from .artifacts import (
    Posteriors as Posteriors,
)
from .artifacts import (
    condition_labels as condition_labels,
)
from .artifacts import (
    draws as draws,
)
from .artifacts import (
    interval as interval,
)
from .artifacts import (
    symptom_scale as symptom_scale,
)
from .numbers import (
    headline_numbers as headline_numbers,
)
from .numbers import (
    latex_macros as latex_macros,
)
from .numbers import (
    write_numbers as write_numbers,
)
from .quantities import (
    QUANTITIES as QUANTITIES,
)
