# The public names; imported on first use (lazy_loader.attach_stub in __init__.py).

from .default import (
    default_study as default_study,
)
from .default import (
    default_study_truth as default_study_truth,
)
from .errors import (
    Problem as Problem,
)
from .errors import (
    StudyValidationError as StudyValidationError,
)
from .io import (
    load_study as load_study,
)
from .io import (
    write_study as write_study,
)
from .nimh import (
    import_nimh as import_nimh,
)
from .simulate import (
    SimulationTruth as SimulationTruth,
)
from .simulate import (
    simulate_study as simulate_study,
)
from .simulation_parameters import (
    SimulationParameters as SimulationParameters,
)
from .simulation_parameters import (
    read_simulation_parameters as read_simulation_parameters,
)
from .study import (
    Study as Study,
)
from .summary import (
    StudySummary as StudySummary,
)
