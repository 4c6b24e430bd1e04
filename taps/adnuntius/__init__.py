"""tap-adnuntius: the Adnuntius Advertising admin API as Singer streams."""
