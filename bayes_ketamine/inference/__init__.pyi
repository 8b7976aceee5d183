# The public names; imported on first use (lazy_loader.attach_stub in __init__.py).

from .artifact import (
    ArtifactError as ArtifactError,
)
from .artifact import (
    load_posterior as load_posterior,
)
from .comparison import (
    compare as compare,
)
from .fitting import (
    FitResult as FitResult,
)
from .fitting import (
    fit as fit,
)
from .samplers import (
    sample_posterior as sample_posterior,
)
from .settings import (
    FitSettings as FitSettings,
)
