"""Only what pyproject.toml cannot say:

- the wheel's top-level board modules get their .pyi stubs beside them (setuptools copies
  .pyi files for packages, not for py-modules);
- the package data the commands need outside a checkout, in chunkalloc_host/data/: boards/,
  the firmware folders (library, c, demo, bench, tests, examples) and natmod/ARCH/
  chunkalloc_c.mpy, the C kernels prebuilt from the pinned MicroPython (prebuilt.py) for
  x64, armv6m, armv7m and rv32imc. With CHUNKALLOC_DIST=1 (`make dist`) the MicroPython
  source is cloned if none is at hand and a module that cannot be built fails the build;
  otherwise those that cannot be built are left out, saying so. An editable install has
  none of this: it reads the checkout;
- chunkalloc_c, the C kernels of firmware/c/ as a CPython extension (the same kernel
  source as the MicroPython native module). Where it cannot be compiled (no C compiler,
  no Python headers) the install goes on without it and CPython runs the pure kernels.
"""

import os
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py


FIRMWARE_FOLDERS = ["chunkalloc", "c", "demo", "bench", "tests", "examples"]
NOT_DATA = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info", "build")


class BuildWithStubsAndData(build_py):
    def run(self) -> None:
        super().run()
        source = Path(self.package_dir.get("", "."))
        for module in self.py_modules or []:
            stub = source / f"{module}.pyi"
            if stub.exists():
                self.copy_file(str(stub), str(Path(self.build_lib) / stub.name))
        if not getattr(self, "editable_mode", False):
            self.add_data(Path(self.build_lib) / "chunkalloc_host" / "data")

    def add_data(self, data: Path) -> None:
        shutil.rmtree(data, ignore_errors=True)  # nothing left from an earlier build
        (data / "boards").mkdir(parents=True)
        for board in Path("boards").glob("*.json"):
            shutil.copyfile(board, data / "boards" / board.name)
        for folder in FIRMWARE_FOLDERS:
            shutil.copytree(Path("firmware") / folder, data / "firmware" / folder, ignore=NOT_DATA)
        sys.path.insert(0, "host")
        from chunkalloc_host.prebuilt import prebuild  # the checkout's, reading its firmware/c/
        from chunkalloc_host.natmod import PREBUILT_ARCHS

        dist = os.environ.get("CHUNKALLOC_DIST") == "1"
        failed = prebuild(list(PREBUILT_ARCHS), data / "natmod", fetch=dist)
        for arch, why in failed.items():
            print(f"chunkalloc: chunkalloc_c.mpy for {arch} not in the wheel: {why}", file=sys.stderr)
        if failed and dist:
            raise SystemExit("chunkalloc: make dist needs chunkalloc_c.mpy for every arch (see above)")


class OptionalBuildExt(build_ext):
    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers
            print(f"chunkalloc: C kernels for CPython not built ({exc}); the pure kernels serve")

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"chunkalloc: C kernels for CPython not built ({exc}); the pure kernels serve")


setup(
    ext_modules=[Extension("chunkalloc_c", ["firmware/c/chunkalloc_cpython.c"],
                           depends=["firmware/c/chunkalloc_kernel.h"],
                           extra_compile_args=["-O2"], optional=True)],
    cmdclass={"build_py": BuildWithStubsAndData, "build_ext": OptionalBuildExt},
)
