import sys

from lowtf.legacy.runner import main

sys.exit(main())
