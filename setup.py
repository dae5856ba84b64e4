"""Only what pyproject.toml cannot say: the wheel's top-level board modules get their
.pyi stubs beside them (setuptools copies .pyi files for packages, not for py-modules)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithStubs(build_py):
    def run(self) -> None:
        super().run()
        source = Path(self.package_dir.get("", "."))
        for module in self.py_modules or []:
            stub = source / f"{module}.pyi"
            if stub.exists():
                self.copy_file(str(stub), str(Path(self.build_lib) / stub.name))


setup(cmdclass={"build_py": BuildWithStubs})
