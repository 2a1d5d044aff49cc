"""Re-derive the Kohne study's calibrated constants: ``kumo.studies.kohne2018.calibrate`` (see its docstring)."""

from kumo.studies.kohne2018.calibrate import main

if __name__ == "__main__":
    main()
