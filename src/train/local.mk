# src/train: optimizer, schedules, trainer, metrics
libflagscale_a_SOURCES += src/train/fs_lr_schedule.c src/train/fs_optimizer.c src/train/fs_batch_schedule.c \
	src/train/fs_tensorboard.c src/train/fs_trainer_args.c src/train/fs_trainer.c src/train/fs_pretrain.c src/train/fs_train_ckpt.c src/train/fs_train_signal.c \
	src/train/fs_dist_opt.c
pkginclude_HEADERS += src/train/fs_lr_schedule.h src/train/fs_optimizer.h src/train/fs_batch_schedule.h \
	src/train/fs_tensorboard.h src/train/fs_trainer.h src/train/fs_pretrain.h src/train/fs_train_ckpt.h src/train/fs_train_signal.h \
	src/train/fs_dist_opt.h
# ZeRO-1 over the data-parallel ranks: losses equal the replicated optimizer's, checkpoints move between layouts
TESTS += tests/mpi/test_dist_opt.sh tests/mpi/test_dist_opt_tp.sh
EXTRA_DIST += tests/mpi/test_dist_opt.sh tests/mpi/test_dist_opt_tp.sh
