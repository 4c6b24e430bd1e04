"""``python -m taps.amperity``."""

from taps.amperity.tap import main

main()
