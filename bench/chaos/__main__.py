"""`python -m bench.chaos`: run the fault run; exit non-zero unless it passed."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from bench.chaos.run import main  # noqa: E402 - stack.* reads settings on import

sys.exit(main(sys.argv[1:]))
