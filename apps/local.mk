# apps: one thin main per executable
bin_PROGRAMS += apps/flagscale-preprocess
apps_flagscale_preprocess_SOURCES = apps/flagscale-preprocess.c
