/* fs_infer_prompts.h -- prompts for flagscale-infer: one from -prompt, or a JSONL file with one object per line:
 *   {"prompt": "...", "max_new_tokens": N, "temperature": T, "top_k": K, "top_p": P, "seed": S, "stop": [..]}
 * where every field but "prompt" is optional and overrides the command-line default for that line. */
#ifndef FS_INFER_PROMPTS_H
#define FS_INFER_PROMPTS_H

#include <stdint.h>
#include "fs_sampler.h"
#include "fs_error.h"

struct fs_prompt {
  char *text;
  int64_t max_new_tokens;
  struct fs_sampling sampling;
  char **stop;  /* (n_stop) */
  int n_stop;
};

/* defaults: the command line's settings; *p is malloc'ed (free with fs_prompts_free) */
PetscErrorCode fs_prompts_read(const char *path, const struct fs_prompt *defaults, struct fs_prompt **p, int *n);
void fs_prompts_free(struct fs_prompt **p, int n);

#endif
