"""Bundles a built libtandem into the package, so that `pip install
./bindings/python` after `make build` gives a package that finds its library
with no environment variable: TANDEM_LIBRARY at install time names it, else
the repository's build/libtandem.so. Without either, the package is pure
Python and finds libtandem at run time (tandem/_native.py)."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        library = os.environ.get("TANDEM_LIBRARY") or os.path.join(HERE, "..", "..", "build", "libtandem.so")
        if os.path.exists(library):
            # The real file, not the symlink chain of the build folder.
            shutil.copyfile(os.path.realpath(library), os.path.join(self.build_lib, "tandem", "libtandem.so"))


setup(cmdclass={"build_py": BuildWithLibrary})
