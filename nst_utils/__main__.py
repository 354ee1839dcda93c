"""``python -m nst_utils stylize CONTENT STYLE -o OUT.png`` (see `nst_utils.cli`)."""

import sys

from nst_utils.cli import main

sys.exit(main())
