"""Package discovery that pyproject.toml alone cannot express.

The bundled reference tables live in the repository's top-level ``data/`` folder and ship inside
the package as ``rmpredict._data`` (wheel and sdist), so a non-editable install works anywhere.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["rmpredict", "rmpredict.*"]), "rmpredict._data"],
    package_dir={"rmpredict._data": "data"},
)
