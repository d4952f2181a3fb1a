// placeholder until the load library lands
