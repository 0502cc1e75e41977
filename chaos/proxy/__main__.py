"""`python -m chaos.proxy ...`"""

import sys

from chaos.proxy.main import main

sys.exit(main(sys.argv[1:]))
