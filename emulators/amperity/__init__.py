"""The Amperity API and Profile API emulator."""
