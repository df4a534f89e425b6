"""shopmind — a self-hosted AI engine for online shops.

Data flows one way: ingest → store → train → serve, with evaluate offline.
See README.md and docs/ for the tour; ``shopmind.engine.Engine`` is the Python entry point.
"""

import logging

__version__ = "0.1.0"

# Libraries log, never print: the CLI configures handlers.
logging.getLogger(__name__).addHandler(logging.NullHandler())
