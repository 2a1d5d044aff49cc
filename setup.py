"""Build script for kumo's one optional C extension (everything else is in pyproject.toml).

``kumo.studies.cloudsim._kernel`` runs the CloudSim compatibility mode's hot paths (see
``kumo/studies/cloudsim/_compiled.py`` and ``docs/studies/cloudsim.md``). It is optional: without a C compiler
the install still succeeds and kumo uses the (identical, slower) Python path.
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
