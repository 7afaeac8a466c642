"""Build hook: the wheel carries the top-level recipes and store specs as package data.

``flows/*.yaml`` (recipes) and ``stores/*.yaml`` (store specs) stay at the top of the
repository, where users edit them. Every build copies them into ``superionic/data/flows`` and
``superionic/data/stores``; ``superionic.recipes`` and ``superionic.stores`` read them from
there when no checkout is around (a normal ``pip install``). Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED_FOLDERS = ("flows", "stores")


class BuildPyWithRecipes(build_py):
    """``build_py`` that also copies ``flows/*.yaml`` and ``stores/*.yaml`` into the package."""

    def run(self):
        super().run()
        for folder in BUNDLED_FOLDERS:
            files = sorted((ROOT / folder).glob("*.yaml"))
            if not files:
                raise FileNotFoundError(f"no {folder}/*.yaml next to setup.py: the wheel would lack them")
            target = Path(self.build_lib) / "superionic" / "data" / folder
            self.mkpath(str(target))
            for path in files:
                self.copy_file(str(path), str(target / path.name))


setup(cmdclass={"build_py": BuildPyWithRecipes})
