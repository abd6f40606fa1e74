/* fs_peft.h -- PEFT LoRA adapter folders (adapter_config.json + adapter_model.safetensors, as PEFT's
 * save_pretrained writes them) <-> a model's LoRA adapters (doc/formats-hf-gguf.md).  Tensor names are PEFT's:
 * "base_model.model." + the parameter table's name (model.layers.N.self_attn.q_proj.lora_A.weight, A (r, in),
 * B (out, r)).  Read: LoRA only, one rank and alpha for every targeted module (no rank_pattern/alpha_pattern,
 * layers_to_transform, modules_to_save, adapter biases, DoRA); rsLoRA's scale alpha/sqrt(r) is kept as
 * lora_alpha = alpha sqrt(r). */
#ifndef FS_PEFT_H
#define FS_PEFT_H

#include "fs_dtype.h"
#include "fs_model.h"

/* DIR/adapter_config.json -> cfg's lora_rank, lora_alpha and lora_targets (clear errors for what cannot be read) */
PetscErrorCode fs_peft_read_config(const char *dir, struct fs_model_config *cfg);
/* a model with the adapters of DIR on base's weights: base (without adapters, whole model on this rank) is consumed
 * and *m replaces it; every adapter tensor of the folder must fit the model */
PetscErrorCode fs_peft_attach(const char *dir, struct fs_model **m);
/* reads the adapters of DIR into m, whose configuration already has the folder's rank, alpha and targets (each rank
 * its slices: any tensor- and pipeline-parallel layout) */
PetscErrorCode fs_peft_load(const char *dir, struct fs_model *m);
/* writes DIR/adapter_config.json and DIR/adapter_model.safetensors for the adapters of m (a LLaMA-structured model
 * with LoRA adapters, whole on this rank); base_name: "base_model_name_or_path" (NULL: none) */
PetscErrorCode fs_peft_write(const char *dir, const struct fs_model *m, enum fs_dtype file_dtype,
                             const char *base_name);

#endif
