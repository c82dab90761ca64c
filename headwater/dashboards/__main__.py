"""``python -m headwater.dashboards [--check] OUT_DIR``."""

import sys

from headwater.dashboards.cli import main

if __name__ == "__main__":
    sys.exit(main())
