"""Build hook: a wheel of the workbook carries the two manifests inside the `workbook` package.

The project's metadata is all in ``pyproject.toml``; this file only adds one step to
setuptools' ``build_py``. In a checkout, `workbook.resources.manifest_path` reads
``weights/manifest.toml`` and ``data/manifest.toml`` where they are; a wheel (``pip install
git+https://...``, what the Colab setup cell does) has no checkout around it, so the build copies
them to ``workbook/_manifests/weights.toml`` and ``data.toml``, where `manifest_path` finds them.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: manifest in the checkout -> its name inside the package of a wheel
MANIFESTS = {"weights/manifest.toml": "weights.toml", "data/manifest.toml": "data.toml"}


class build_py_with_manifests(build_py):
    """``build_py`` that also copies the manifests into ``workbook/_manifests/``."""

    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own files
            return
        target = Path(self.build_lib) / "workbook" / "_manifests"
        target.mkdir(parents=True, exist_ok=True)
        for source, name in MANIFESTS.items():
            self.copy_file(str(HERE / source), str(target / name))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            folder = Path(self.build_lib) / "workbook" / "_manifests"
            outputs += [str(folder / name) for name in MANIFESTS.values()]
        return outputs


setup(cmdclass={"build_py": build_py_with_manifests})
