"""Entry point of the download worker process: ``python -m assistant.models.download_worker``.

A module of its own, so that running it does not import :mod:`assistant.models.worker` twice.
"""

from __future__ import annotations

import sys

from assistant.models.worker import main

sys.exit(main())
