# apps/flagscale-serve
