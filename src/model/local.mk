# src/model: configuration, parameter table, the decoder's layer sequence (tensor/sequence parallel)
libflagscale_a_SOURCES += src/model/fs_model_config.c src/model/fs_model_config_json.c src/model/fs_model_options.c \
	src/model/fs_param_table.c src/model/fs_model.c src/model/fs_model_layers.c src/model/fs_model_vocab.c \
	src/model/fs_model_impl.h src/model/fs_model_io.c src/model/fs_model_lora.c
pkginclude_HEADERS += src/model/fs_model_config.h src/model/fs_param_table.h src/model/fs_model.h src/model/fs_model_io.h
# parity with PyTorch (both structures, both CPU backends)
check_PROGRAMS += tests/ref/model_tool
TESTS += tests/ref/test_model_torch.sh
EXTRA_DIST += tests/ref/test_model_torch.sh tests/ref/model_vs_torch.py
# tensor/sequence parallelism and recomputation (MPI): model-level checks and flagscale-pretrain loss sequences
check_PROGRAMS += tests/mpi/test_tp_model
TESTS += tests/mpi/test_tp.sh
EXTRA_DIST += tests/mpi/test_tp.sh tests/mpi/tp_losses.py
# checkpoints across TP layouts through the trainer
TESTS += tests/mpi/test_tp_resume.sh
EXTRA_DIST += tests/mpi/test_tp_resume.sh
# packed sequences: packed == one document per row, no leak between documents, TP 2 (+ SP) == TP 1 (mpirun -np 2),
# and flagscale-finetune -pack_sequences (tests/mpi/test_pack.sh)
check_PROGRAMS += tests/mpi/test_pack_model
TESTS += tests/mpi/test_pack.sh
EXTRA_DIST += tests/mpi/test_pack.sh
