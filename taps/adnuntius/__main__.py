"""``python -m taps.adnuntius``."""

from taps.adnuntius.tap import main

main()
