/* fs_gguf_model.h -- llama-architecture GGUF files <-> the model.  Tensor names map to Hugging Face names
 * (token_embd <-> model.embed_tokens, blk.N.attn_q <-> model.layers.N.self_attn.q_proj, ...); GGUF's q and k
 * matrices have their rotary halves interleaved per head (llama.cpp's layout), which import undoes and export
 * redoes.  Quantized tensors are dequantized to fp32 on import; export writes F32 or F16. */
#ifndef FS_GGUF_MODEL_H
#define FS_GGUF_MODEL_H

#include "fs_dtype.h"
#include "fs_model.h"

/* reads the model of a GGUF file; writes its tokenizer (vocab.json + merges.txt from tokenizer.ggml.*) into
 * tokenizer_dir when that is not NULL; *chat_template gets a malloc'ed copy of tokenizer.chat_template or NULL */
PetscErrorCode fs_gguf_import(const char *path, const char *tokenizer_dir, struct fs_model **m, char **chat_template);
/* writes m as GGUF (F32 or F16 tensors), with the byte-level BPE tokenizer of tokenizer_dir (NULL = none) */
PetscErrorCode fs_gguf_export(const char *path, const struct fs_model *m, enum fs_dtype file_dtype,
                              const char *tokenizer_dir, int eos_id);

#endif
