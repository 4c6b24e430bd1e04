"""What every vendor emulator shares: server, faults, limits, paging."""
