"""The Adnuntius admin API emulator (guesses listed below)."""
