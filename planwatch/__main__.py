import sys

from planwatch.run.cli import main

sys.exit(main())
