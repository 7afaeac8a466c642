"""Where the user-editable folders of the project are: the checkout's, else the wheel's copy.

``flows/`` (recipes) and ``stores/`` (store specs) live at the top of the repository, where
users edit them; setup.py copies them into ``superionic/data/<folder>`` of every wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_dir(folder: str) -> Path:
    """``folder`` (``flows``, ``stores``) of the source checkout this package runs from, else
    the copy in ``superionic/data/<folder>`` that every wheel carries."""
    repo = Path(__file__).resolve().parents[2] / folder
    if repo.is_dir() and (repo.parent / "pyproject.toml").is_file():
        return repo
    return Path(str(resources.files("superionic") / "data" / folder))
