"""``python -m authmatech``: see :mod:`authmatech.cli`."""

from .cli import main

raise SystemExit(main())
