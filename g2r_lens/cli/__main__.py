"""``python -m g2r_lens.cli`` is ``g2r``."""

import sys

from . import main

sys.exit(main())
