# The public names; imported on first use (lazy_loader.attach_stub in __init__.py).

from .base import (
    CrossoverModel as CrossoverModel,
)
from .base import (
    response_profile as response_profile,
)
from .glutamate import (
    GlutamateModel as GlutamateModel,
)
from .joint import (
    JointModel as JointModel,
)
from .registry import (
    FAMILY_CLASSES as FAMILY_CLASSES,
)
from .registry import (
    build_model as build_model,
)
from .spec import (
    SPEC_DIR as SPEC_DIR,
)
from .spec import (
    ModelSpec as ModelSpec,
)
from .spec import (
    SpecError as SpecError,
)
from .spec import (
    load_spec as load_spec,
)
from .spec import (
    named_specs as named_specs,
)
from .spec import (
    resolve_spec as resolve_spec,
)
from .spec import (
    spec_from_dict as spec_from_dict,
)
from .symptoms import (
    SymptomModel as SymptomModel,
)
