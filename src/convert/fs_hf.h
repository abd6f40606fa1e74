/* fs_hf.h -- Hugging Face LLaMA folders (config.json + safetensors + tokenizer files) <-> the model.
 * Names need no mapping: the parameter table uses Hugging Face's LLaMA names.  Vocabulary rows are the true
 * vocabulary on both sides.  Only the LLaMA structure (LlamaForCausalLM: RMSNorm, RoPE, SwiGLU, GQA, no biases,
 * tied or untied) converts; anything else in config.json (rope_scaling, biases, other activations) is refused. */
#ifndef FS_HF_H
#define FS_HF_H

#include "fs_dtype.h"
#include "fs_model.h"

/* LlamaConfig (config.json) -> configuration; a clear error for what the model cannot represent */
PetscErrorCode fs_hf_read_config(const char *dir, struct fs_model_config *cfg);
/* writes DIR/config.json for the model (eos/bos ids from the tokenizer, -1 = none; torch_dtype from file_dtype) */
PetscErrorCode fs_hf_write_config(const char *dir, const struct fs_model_config *cfg, int eos_id, int bos_id,
                                  enum fs_dtype file_dtype);
/* weights of a folder (single file or sharded with an index) into m, which must have the folder's configuration */
PetscErrorCode fs_hf_read_weights(const char *dir, struct fs_model *m);
/* safetensors of m into dir (sharded above max_shard_bytes, 0 = one file) */
PetscErrorCode fs_hf_write_weights(const char *dir, const struct fs_model *m, enum fs_dtype file_dtype,
                                   size_t max_shard_bytes);
/* tokenizer files: copies vocab.json + merges.txt of a byte-level BPE tokenizer folder and writes
 * tokenizer_config.json / special_tokens_map.json for GPT2Tokenizer (eos = the end-of-document token) */
PetscErrorCode fs_hf_write_tokenizer(const char *dir, const char *tokenizer_dir, const char *eos_token,
                                     int model_max_length);

/* writes a JSON object (reference stolen) to DIR/NAME atomically (NAME.tmp, rename) */
typedef struct json_t json_t;
PetscErrorCode fs_hf_write_json(json_t *o, const char *dir, const char *name);

#endif
