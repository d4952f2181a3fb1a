// placeholder until the faults library lands
