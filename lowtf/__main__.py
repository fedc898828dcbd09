import sys

from lowtf.cli import main

sys.exit(main())
