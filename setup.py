"""Build step: ship the data folders (events/, targets/, campaigns/) inside the package, as hwprof/shipped/.

Everything else is in pyproject.toml. A source checkout reads the folders where they are
(hwprof/data/paths.py); an installed wheel reads these copies.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = ("events", "targets", "campaigns")


class BuildPyWithData(build_py):
    """build_py, then the data folders' *.toml and *.md files into hwprof/shipped/<folder>/."""

    def run(self):
        super().run()
        for folder in DATA_FOLDERS:
            for src in sorted((ROOT / folder).iterdir()):
                if src.is_file() and src.suffix in (".toml", ".md"):
                    dest = Path(self.build_lib) / "hwprof" / "shipped" / folder / src.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self.copy_file(str(src), str(dest))


setup(cmdclass={"build_py": BuildPyWithData})
