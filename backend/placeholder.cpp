// placeholder until the backend library lands
