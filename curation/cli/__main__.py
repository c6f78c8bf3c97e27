"""`python -m curation.cli`: the same as the `agora` command."""
import sys

from curation.cli import main

sys.exit(main())
