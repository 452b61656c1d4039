"""`python -m app`: the `bujianmian` command; without a subcommand it opens the desktop client."""

import sys

from app.cli import main

sys.exit(main())
