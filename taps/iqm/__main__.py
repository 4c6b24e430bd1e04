"""``python -m taps.iqm``."""

from taps.iqm.tap import main

main()
