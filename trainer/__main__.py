"""``python -m trainer ...`` and ``torchrun --nproc_per_node=N -m trainer train ...``."""

from .cli import main

raise SystemExit(main())
