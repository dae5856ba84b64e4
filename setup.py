"""The one thing pyproject.toml cannot declare: chunkalloc_c, the C kernels of
firmware/c/ as a CPython extension (the same kernel source as the MicroPython native
module). Where no C compiler is found the install goes on without it, and CPython runs
the pure kernels."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers
            print(f"chunkalloc: C kernels for CPython not built ({exc}); the pure kernels serve")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"chunkalloc: C kernels for CPython not built ({exc}); the pure kernels serve")


setup(
    ext_modules=[Extension("chunkalloc_c", ["firmware/c/chunkalloc_cpython.c"],
                           depends=["firmware/c/chunkalloc_kernel.h"],
                           extra_compile_args=["-O2"], optional=True)],
    cmdclass={"build_ext": OptionalBuildExt},
)
