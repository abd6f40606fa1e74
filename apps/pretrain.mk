# apps/flagscale-pretrain
bin_PROGRAMS += apps/flagscale-pretrain
apps_flagscale_pretrain_SOURCES = apps/flagscale-pretrain.c
