/* fs_train_ckpt.h -- saving and loading the training state through the checkpoint layer (src/ckpt): the model's
 * global tensors (vocabulary rows unpadded) under /model/<canonical name>, AdamW's moments under
 * /optimizer/<name>/{exp_avg,exp_avg_sq}, and the counters (iteration, consumed samples, optimizer step) as root
 * attributes, with the model configuration as JSON.  Each data-parallel rank writes its share of the rows, so any
 * number of ranks (and, later, any tensor/pipeline layout) reads it back.  On CPU the parameters are the fp32
 * master weights, so /optimizer/<name>/master is not written: /model/<name> is the master (doc/checkpoint-format.md).
 * With the distributed optimizer the moments are still written as global tensors (each tensor is gathered from
 * the shards first), and loading keeps this rank's shard: checkpoints move between any data-parallel sizes, with
 * or without -use_distributed_optimizer on either side (doc/distributed-optimizer.md). */
#ifndef FS_TRAIN_CKPT_H
#define FS_TRAIN_CKPT_H

#include "fs_trainer.h"

/* writes DIR/iter_%07d.h5 for the current iteration, then the tracker; keeps the newest `keep` (0 = all) */
PetscErrorCode fs_train_save(struct fs_trainer *t, const char *dir, int keep);

struct fs_load_flags {
  PetscBool no_load_optim; /* weights and counters, fresh optimizer */
  PetscBool finetune;      /* weights only: iteration and consumed samples start at 0, fresh optimizer */
};
/* loads the checkpoint the tracker of DIR points at; *loaded = PETSC_FALSE when DIR has no tracker */
PetscErrorCode fs_train_load(struct fs_trainer *t, const char *dir, const struct fs_load_flags *f, PetscBool *loaded);

#endif
