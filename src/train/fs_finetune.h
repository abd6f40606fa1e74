/* fs_finetune.h -- flagscale-finetune as a library function (an fs_app_run_fn): supervised fine-tuning of a
 * checkpoint on jsonl conversations (fs_sft.h) with the pretraining loop (fs_trainer.h).
 *   checkpoint (-load DIR) -> model configuration (options given must agree with it) and tokenizer -> chat template
 *   -> SFT data (-train_data_path, -valid_data_path) -> trainer with a loss mask -> -save checkpoints.
 * -load is read with -finetune semantics unless -finetune false is given: weights only, iteration 0, fresh
 * optimizer.  A run whose -save directory (not the -load one) already holds a checkpoint resumes from it with its
 * full state (preemption). */
#ifndef FS_FINETUNE_H
#define FS_FINETUNE_H

#include <mpi.h>
#include "fs_error.h"

PetscErrorCode fs_finetune_run(MPI_Comm comm, const char *app, const char *summary);

#endif
