// placeholder until the proxy library lands
