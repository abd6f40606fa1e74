/* fs_infer_forward.h -- the decoder's layer sequence for generation: a batch of sequences, each bringing some new
 * tokens (a prompt chunk when prefilling, one token when decoding), run through the same layers as fs_model.c
 * (norms, projections, MLP and output layer through the op table m->ops), with attention over the paged KV cache
 * of each token's own sequence (fs_infer_kernels.h).  The new tokens' keys/values are appended to the cache.
 *
 * Tensor parallelism (a model of fs_model_create_tp): every rank of tp_comm runs the same batch on its slice, as
 * training does: its heads and kv heads (its cache holds only those), its FFN columns, a vocabulary-parallel
 * embedding summed over tp_comm, row-parallel o/down projections summed over tp_comm (bias added once), and the
 * logits gathered so that every rank gets the same full rows.  Calls are then collective over tp_comm.
 * Pipeline parallelism is not supported (a clear error). */
#ifndef FS_INFER_FORWARD_H
#define FS_INFER_FORWARD_H

#include <stdint.h>
#include "fs_kv_cache.h"
#include "fs_model.h"

/* working buffers, grown to the largest batch seen; {0} is an empty one */
struct fs_infer_ws {
  int64_t cap_tokens, cap_rows;
  float *x, *ln, *mean, *rstd, *q, *k, *v, *att, *tmp, *gate, *up, *h; /* (N, ...) */
  float *rows, *logits;                                                  /* (R,C), (R,V) */
  int *tok_seq;                                                          /* (N) cache sequence of each token */
  int64_t *pos;                                                          /* (N) its position */
  int64_t *row_tok;                                                      /* (R) token of each logits row */
};

struct fs_infer_batch {
  int n_seqs;
  const int *seq;          /* (n_seqs) KV cache sequence ids (fs_kv_cache_seq_open) */
  const int *n_new;        /* (n_seqs) new tokens of each, >= 1 */
  const int32_t *tokens;   /* (sum n_new) the new tokens, sequence after sequence */
  const int *all_logits;   /* (n_seqs) 1: logits of every new token; 0: of the last one; NULL: all 0 */
};

/* the KV cache for this rank's kv heads (num_query_groups / tp); max_bytes is this rank's memory cap */
PetscErrorCode fs_infer_cache_create(const struct fs_model *m, size_t max_bytes, int block_size,
                                     struct fs_kv_cache **c);
/* Runs the batch; the new tokens of sequence s take positions len(s) .. len(s)+n_new(s)-1, and len(s) advances.
 * Room for them must have been reserved (fs_kv_cache_reserve).  *logits (R, vocab_size) points into ws: R rows in
 * sequence order, n_new(s) rows for a sequence with all_logits, else 1; *n_rows gets R. */
PetscErrorCode fs_infer_forward(struct fs_infer_ws *ws, struct fs_model *m, struct fs_kv_cache *c,
                                const struct fs_infer_batch *b, float **logits, int64_t *n_rows);
void fs_infer_ws_free(struct fs_infer_ws *ws);

#endif
