"""``python -m local.emulator --port N --mode extended|development``."""
from local.emulator.server import main

raise SystemExit(main())
