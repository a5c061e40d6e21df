"""``python -m rmpredict`` (also ``accelerate launch -m rmpredict ...``)."""

from rmpredict.cli import main

raise SystemExit(main())
