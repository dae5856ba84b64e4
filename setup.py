"""Only what pyproject.toml cannot say:

- the wheel's top-level board modules get their .pyi stubs beside them (setuptools copies
  .pyi files for packages, not for py-modules);
- chunkalloc_c, the C kernels of firmware/c/ as a CPython extension (the same kernel
  source as the MicroPython native module). Where it cannot be compiled (no C compiler,
  no Python headers) the install goes on without it and CPython runs the pure kernels.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py


class BuildWithStubs(build_py):
    def run(self) -> None:
        super().run()
        source = Path(self.package_dir.get("", "."))
        for module in self.py_modules or []:
            stub = source / f"{module}.pyi"
            if stub.exists():
                self.copy_file(str(stub), str(Path(self.build_lib) / stub.name))


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
    cmdclass={"build_py": BuildWithStubs, "build_ext": OptionalBuildExt},
)
