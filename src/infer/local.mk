# src/infer: paged KV cache, decode forward and its CPU kernels, sampler, continuous-batching engine, the app's logic
libflagscale_a_SOURCES += src/infer/fs_kv_cache.c src/infer/fs_infer_kernels.c src/infer/fs_infer_forward.c
pkginclude_HEADERS += src/infer/fs_kv_cache.h src/infer/fs_infer_kernels.h src/infer/fs_infer_forward.h
# decode forward (prefill + step-by-step) against fs_model_logits, LLaMA GQA and GPT-2 structures
check_PROGRAMS += tests/unit/test_infer_forward
TESTS += tests/unit/test_infer_forward
# the same at TP 2 (mpiexec -n 2) against a TP 1 model
TESTS += tests/mpi/test_infer_tp.sh
EXTRA_DIST += tests/mpi/test_infer_tp.sh
libflagscale_a_SOURCES += src/infer/fs_sampler.c src/infer/fs_engine_impl.h src/infer/fs_engine.c \
	src/infer/fs_engine_output.c
pkginclude_HEADERS += src/infer/fs_sampler.h src/infer/fs_engine.h
# engine: batching independence, preemption, greedy vs full forward, scoring, stops, streaming; the sampler
check_PROGRAMS += tests/unit/test_infer_engine
TESTS += tests/unit/test_infer_engine
libflagscale_a_SOURCES += src/infer/fs_infer_prompts.c src/infer/fs_infer_app.c src/infer/fs_checkpoint_info.c src/infer/fs_engine_options.c \
	src/infer/fs_infer_load.c
pkginclude_HEADERS += src/infer/fs_infer_prompts.h src/infer/fs_infer_app.h src/infer/fs_checkpoint_info.h \
	src/infer/fs_infer_load.h
