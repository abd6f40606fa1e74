# apps/flagscale-infer
