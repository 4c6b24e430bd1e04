"""``python -m emulators``."""

from emulators.cli import main

main()
