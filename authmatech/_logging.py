"""The library's logger: ``authmatech``, silent unless the application configures logging.

Every record passes the redaction filter, so phone numbers are masked and secrets appear only
as fingerprints whatever the level.
"""

from __future__ import annotations

import logging

from .core._redact import RedactionFilter

__all__ = ["logger"]

logger = logging.getLogger("authmatech")
if not any(isinstance(f, RedactionFilter) for f in logger.filters):
    logger.addFilter(RedactionFilter())
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())
