/* fs_model_impl.h -- internals shared by the model's source files (not installed) */
#ifndef FS_MODEL_IMPL_H
#define FS_MODEL_IMPL_H

#include "fs_model.h"

/* local sizes of this rank's slice */
struct fs_model_dims {
  int64_t N, Nl, C, Fl;  /* tokens, tokens of the residual stream held here, hidden, FFN columns held here */
  int NHl, NKVl, D, Ql, KVl; /* heads held here, kv heads held here, head dim, NHl*D, NKVl*D */
  int Vl, v0, Vv;        /* vocabulary rows held here, the first one's global id, how many are true rows */
};
void fs_model_dims(const struct fs_model *m, int B, int T, struct fs_model_dims *d);
/* points xs, layer, lnf .. losses at the activations of micro-batch slot k (< n_slots; after fs_model_set_batch) */
void fs_model_use_slot(struct fs_model *m, int k);

/* vocabulary-parallel embedding (fs_model_vocab.c): out (N,C) = rows of this rank's vocabulary slice, 0 for
 * tokens outside it (the caller sums over tp_comm); and its backward dwte (Vl,C) += */
void fs_vocab_embedding_forward(const struct fs_model *m, float *out, const int32_t *tokens, int64_t N);
void fs_vocab_embedding_backward(const struct fs_model *m, float *dwte, const float *dout, const int32_t *tokens,
                                 int64_t N);
/* vocabulary-parallel output layer + cross-entropy over the true vocabulary, in chunks of rows (never (N,V)):
 * losses (N); when dinp is not NULL, dinp (N,C) = this rank's partial input gradient (the caller sums over
 * tp_comm) and dweight (Vl,C) +=.  Collective over tp_comm. */
PetscErrorCode fs_vocab_xent(const struct fs_model *m, float *losses, float *dinp, float *dweight, const float *inp,
                             const float *weight, const int32_t *targets, const float *row_weight, int64_t N);
/* logits (N, vocab_size) gathered from every rank's slice */
PetscErrorCode fs_vocab_logits(const struct fs_model *m, float *logits, const float *inp, const float *weight,
                               int64_t N);

/* LoRA (fs_model_lora.c), no-ops for a layer without an adapter on target g.  forward: ts (N,r) = s inp A^T
 * (kept for backward), out (N,out) += ts B^T.  backward: dB, dA += (this rank's part), dinp (N,in) += the adapter's
 * input gradient.  Both use m->lora_tmp. */
void fs_lora_forward(struct fs_model *m, int l, enum fs_lora_target g, float *out, const float *inp, float *ts,
                     int64_t N);
void fs_lora_backward(struct fs_model *m, int l, enum fs_lora_target g, float *dinp, const float *dout,
                      const float *inp, const float *ts, int64_t N);
/* 1 when this rank's gradient of p is a partial sum over tp_comm (adapters replicated over tensor parallelism) */
int fs_lora_partial_grad(const struct fs_model *m, const struct fs_param *p);

#endif
