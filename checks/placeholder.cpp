// placeholder until the checks library lands
