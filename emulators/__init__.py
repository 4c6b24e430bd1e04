"""Local emulators of the vendors' APIs (``tap-emulator VENDOR``)."""
