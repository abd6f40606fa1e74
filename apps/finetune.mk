# apps/flagscale-finetune
