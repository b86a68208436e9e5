"""`python -m processor` does what `charges` does."""

from processor.cli import main

raise SystemExit(main())
