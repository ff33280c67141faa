import sys

from cvstudio.cli import main

sys.exit(main())
