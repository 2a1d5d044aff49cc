"""Build script for kumo's two optional C extensions (everything else is in pyproject.toml).

- ``kumo.studies.cloudsim._kernel`` runs the CloudSim compatibility mode's hot paths (see
  ``kumo/studies/cloudsim/_compiled.py`` and ``docs/studies/cloudsim.md``);
- ``kumo.policies._pick`` is the ``consolidation`` controller's PABFD host choice for one VM, one loop over the
  candidate hosts (see ``kumo/policies/fused.py`` and ``docs/guide/scale.md``).

Both are optional: without a C compiler the install still succeeds and kumo uses the (identical, slower) Python
paths; ``KUMO_PURE_PYTHON=1`` turns both off at run time.
"""

from setuptools import Extension, setup

KERNEL = "src/kumo/studies/cloudsim/"

setup(
    ext_modules=[
        Extension(
            "kumo.studies.cloudsim._kernel",
            [KERNEL + f"_kernel{part}.c" for part in ("", "_args", "_pabfd", "_optimize", "_timeline", "_history")],
            depends=[KERNEL + "_kernel.h"],
            # no fused multiply-add: the kernel must round exactly as the Python/numpy reference path
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        ),
        Extension(
            "kumo.policies._pick",
            ["src/kumo/policies/_pick.c"],
            # the consolidation controller's host choice (kumo/policies/fused.py): the same rounding as numpy
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        ),
    ]
)
