"""Singer taps for Adnuntius, Amperity, IQM and Kissmetrics, and what they share."""
