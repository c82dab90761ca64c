"""``python -m control.kubernetes [--check] BASE_DIR``."""

import sys

from control.kubernetes.render import main

if __name__ == "__main__":
    sys.exit(main())
