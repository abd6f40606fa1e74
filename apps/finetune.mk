# apps/flagscale-finetune: supervised fine-tuning (src/train/fs_finetune.h) on SFT data (src/data/fs_sft.h)
libflagscale_a_SOURCES += src/train/fs_app_common.c src/train/fs_finetune.c
pkginclude_HEADERS += src/train/fs_app_common.h src/train/fs_finetune.h
bin_PROGRAMS += apps/flagscale-finetune
apps_flagscale_finetune_SOURCES = apps/flagscale-finetune.c
# end to end: validation loss falls; 1 rank = 2 data-parallel ranks = TP 2; resume from -save; malformed lines; PEFT adapter folders
TESTS += tests/mpi/test_sft.sh tests/mpi/test_lora.sh tests/mpi/test_lora_peft.sh
EXTRA_DIST += tests/mpi/test_sft.sh tests/mpi/test_sft_check.py tests/mpi/test_lora.sh tests/mpi/lora_check.py \
	tests/mpi/test_lora_peft.sh
# make check-real also fine-tunes the real model (SmolLM2-135M-Instruct, about 2 minutes on 2 cores)
EXTRA_DIST += tests/real/test_sft_smollm2.sh
check-real-sft: all
	$(SHELL) $(top_srcdir)/tests/driver.sh $(top_srcdir)/tests/real/test_sft_smollm2.sh
check-real: check-real-sft
.PHONY: check-real-sft
