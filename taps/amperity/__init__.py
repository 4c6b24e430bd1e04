"""tap-amperity: Singer tap for the Amperity API and Profile API."""
