"""``python -m prover.evaluate --benchmark NAME --split valid|test …``: ``prover eval`` on its own."""

import sys

from prover.cli.evaluate import main

sys.exit(main())
