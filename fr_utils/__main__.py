"""``python -m fr_utils``: the face verification/recognition command line (see `fr_utils.cli`)."""

import sys

from fr_utils.cli import main

sys.exit(main())
