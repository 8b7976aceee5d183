"""Sphinx configuration of the documentation site (``make docs``).

The guides are the Markdown files beside this one (MyST), the notebooks are rendered
with their stored outputs (never executed here), and the API reference is generated
from the numpydoc docstrings: :func:`write_api_pages` writes one page per package
listing every name in the package's ``__all__``, so a new public name is documented
without editing a page, and the command-line reference from the ``bayes-ketamine``
app itself (``typer ... utils docs``).
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import bayes_ketamine

DOCS = Path(__file__).resolve().parent

project = "bayes_ketamine"
author = "bayes_ketamine developers"
release = version = bayes_ketamine.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_merge_streams = True

autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "furo"
html_title = f"bayes_ketamine {release}"

PACKAGES = (
    "bayes_ketamine.data",
    "bayes_ketamine.models",
    "bayes_ketamine.inference",
    "bayes_ketamine.reporting",
    "bayes_ketamine.figures",
    "bayes_ketamine.calibration",
)
MODULES = ("bayes_ketamine.pipeline",)
"""Modules documented whole (every public member), besides the packages' ``__all__``."""


def _directive(package: str, name: str) -> str:
    obj = getattr(importlib.import_module(package), name)
    if inspect.ismodule(obj):
        return f".. automodule:: {obj.__name__}\n   :members:\n"
    if inspect.isclass(obj):
        return f".. autoclass:: {name}\n   :members:\n"
    if callable(obj):
        return f".. autofunction:: {name}\n"
    return f".. autodata:: {name}\n   :annotation:\n"


def write_api_pages(out: Path = DOCS / "api") -> None:
    """Write ``api/<package>.rst`` for every public package and ``api/index.rst``."""
    out.mkdir(exist_ok=True)
    pages = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        stem = package.rsplit(".", 1)[1]
        title = f"``{package}``"
        body = [
            title,
            "=" * len(title),
            "",
            f".. automodule:: {package}",
            "   :no-members:",
            "",
            f".. currentmodule:: {package}",
            "",
        ]
        body += [_directive(package, name) for name in sorted(module.__all__)]
        if package == "bayes_ketamine.figures":
            body += [
                _directive(package, m.__name__.rsplit(".", 1)[1]) for m in module.FIGURE_MODULES
            ]
        _write(out / f"{stem}.rst", "\n".join(body))
        pages.append(stem)
    for name in MODULES:
        stem = name.rsplit(".", 1)[1]
        title = f"``{name}``"
        _write(
            out / f"{stem}.rst",
            f"{title}\n{'=' * len(title)}\n\n.. automodule:: {name}\n   :members:\n",
        )
        pages.append(stem)
    pages.append(write_cli_page(out))
    toc = "\n".join(f"   {page}" for page in pages)
    _write(
        out / "index.rst",
        "API reference\n=============\n\nEvery public name of the packages, from its docstring.\n\n"
        f".. toctree::\n   :maxdepth: 1\n\n{toc}\n",
    )


def write_cli_page(out: Path) -> str:
    """Write ``api/cli.md``, every verb and option of ``bayes-ketamine``; return its stem."""
    args = ["bayes_ketamine.cli", "utils", "docs", "--name", "bayes-ketamine"]
    result = subprocess.run(
        [sys.executable, "-m", "typer", *args], capture_output=True, text=True, check=True
    )
    _write(out / "cli.md", result.stdout)
    return "cli"


def _write(path: Path, text: str) -> None:
    """Write only when changed, so Sphinx does not rebuild unchanged pages."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


write_api_pages()
