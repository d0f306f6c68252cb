"""`python -m forecaster` is the same program as the `forecaster` command."""

import sys

from forecaster.cli import main

sys.exit(main())
