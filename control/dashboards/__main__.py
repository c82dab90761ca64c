"""``python -m control.dashboards [--check] OUT_DIR``."""

import sys

from control.dashboards.cli import main

if __name__ == "__main__":
    sys.exit(main())
