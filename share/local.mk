# share/flagscale: tokenizers, demo data, configs
