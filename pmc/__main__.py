import sys

from pmc.cli import main

sys.exit(main())
