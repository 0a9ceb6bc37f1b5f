"""The mechanisms of a day, one module each: command (leaders and their orders),
policing, violence (the Hawkes process on fronts, other killings, concealment),
demography, and the exact samplers they share."""
