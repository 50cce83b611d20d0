"""`python -m openvidseg ...` is the same as the `openvidseg` command (and what torchrun launches)."""
from openvidseg.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
