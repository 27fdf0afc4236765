import sys

from incidenttui.cli import main

sys.exit(main())
