"""``python -m taps.kissmetrics``."""

from taps.kissmetrics.tap import main

main()
