"""Places of worship and faith sites: the register, each site's risk matrix, its control strategy and routines."""
