# apps/flagscale-pretrain
bin_PROGRAMS += apps/flagscale-pretrain
apps_flagscale_pretrain_SOURCES = apps/flagscale-pretrain.c
TESTS += tests/mpi/test_pretrain_dp.sh tests/mpi/test_pretrain_schedule.sh tests/mpi/test_pretrain_tensorboard.sh
EXTRA_DIST += tests/mpi/pretrain_common.sh tests/mpi/compare_metrics.py tests/ref/schedule_ref.py \
	tests/ref/tensorboard_check.py tests/mpi/test_pretrain_dp.sh tests/mpi/test_pretrain_schedule.sh \
	tests/mpi/test_pretrain_tensorboard.sh
TESTS += tests/unit/test_configs.sh tests/mpi/test_pretrain_nan.sh tests/mpi/test_pretrain_resume.sh \
	tests/mpi/test_pretrain_preempt.sh tests/mpi/test_disk_full.sh
EXTRA_DIST += tests/unit/test_configs.sh tests/mpi/test_pretrain_nan.sh tests/mpi/test_pretrain_resume.sh \
	tests/mpi/test_pretrain_preempt.sh tests/mpi/same_losses.py tests/mpi/test_disk_full.sh
TESTS += tests/unit/test_doc_options.sh
EXTRA_DIST += tests/unit/test_doc_options.sh doc/gen-options.sh
