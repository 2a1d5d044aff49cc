"""Build script for kumo's one optional C extension (everything else is in pyproject.toml).

``kumo.compat._kernel`` runs the CloudSim compatibility mode's hot paths (see ``kumo/compat/_compiled.py``). It is optional: without a
C compiler the install still succeeds and kumo uses the (identical, slower) Python path.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kumo.compat._kernel",
            ["src/kumo/compat/_kernel.c", "src/kumo/compat/_kernel_table.c", "src/kumo/compat/_kernel_optimize.c",
             "src/kumo/compat/_kernel_timeline.c"],
            depends=["src/kumo/compat/_kernel.h"],
            # no fused multiply-add: the kernel must round exactly as the Python/numpy reference path
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
