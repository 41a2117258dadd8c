"""Entry point of ``python -m movierec``."""

import sys

from movierec.cli import main

sys.exit(main())
