import sys

from trucesim.cli.main import main

sys.exit(main())
