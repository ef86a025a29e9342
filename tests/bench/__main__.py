"""python -m tests.bench (from the repository root, with backend/venv's Python): see run.py."""

import sys

from .run import main

sys.exit(main())
