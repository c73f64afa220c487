"""``python -m training train|evaluate|export`` — see :mod:`training.cli`."""

import sys

from training.cli import main

sys.exit(main())
