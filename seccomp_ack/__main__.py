"""``python -m seccomp_ack``: the same as the ``seccomp-ack`` command."""

import sys

from .cli import main

sys.exit(main())
