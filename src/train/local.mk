# src/train: optimizer, schedules, trainer, metrics
libflagscale_a_SOURCES += src/train/fs_lr_schedule.c src/train/fs_optimizer.c src/train/fs_batch_schedule.c \
	src/train/fs_tensorboard.c src/train/fs_trainer_args.c src/train/fs_trainer.c src/train/fs_pretrain.c src/train/fs_train_ckpt.c src/train/fs_train_signal.c
pkginclude_HEADERS += src/train/fs_lr_schedule.h src/train/fs_optimizer.h src/train/fs_batch_schedule.h \
	src/train/fs_tensorboard.h src/train/fs_trainer.h src/train/fs_pretrain.h src/train/fs_train_ckpt.h src/train/fs_train_signal.h
