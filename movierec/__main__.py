"""Entry point of ``python -m movierec``."""

import sys

from movierec.cli import main
from movierec.process import tune_allocator

tune_allocator()
sys.exit(main())
