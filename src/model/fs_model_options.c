/* fs_model_options.c -- options of how the layer sequence runs: activation recomputation (Megatron's names and
 * meaning; they trade compute for memory and never change the gradients); and the LoRA adapters' options. */
#include <stdio.h>
#include <string.h>
#include "fs_model_config.h"
#include "fs_opt.h"

PetscErrorCode fs_model_recompute_options(struct fs_model_config *c)
{
  int gran, method;
  int64_t n;
  PetscBool method_set;

  PetscFunctionBegin;
  fs_opt_section("Activation recomputation");
  PetscCall(fs_opt_enum("-recompute_granularity", "none|full|selective", (int)c->recompute_granularity,
                        "full: keep only each layer's input, run its forward again in backward; selective: run the "
                        "attention core again (no attention output kept)",
                        &gran, NULL));
  PetscCall(fs_opt_enum("-recompute_method", "uniform|block", (int)c->recompute_method,
                        "full recomputation: uniform = every layer, in groups of -recompute_num_layers; block = only "
                        "the first -recompute_num_layers layers",
                        &method, &method_set));
  PetscCall(fs_opt_int("-recompute_num_layers", c->recompute_num_layers > 0 ? c->recompute_num_layers : 1,
                       "layers per group (uniform) or recomputed layers (block)", &n, NULL));
  FSCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-recompute_num_layers must be >= 1 (got %lld)",
          (long long)n);
  FSCheck(!method_set || gran == FS_RECOMPUTE_FULL, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "-recompute_method applies to -recompute_granularity full only (Megatron's rule): drop it or add "
          "-recompute_granularity full");
  c->recompute_granularity = (enum fs_recompute)gran;
  c->recompute_method = (enum fs_recompute_method)method;
  c->recompute_num_layers = (int)n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const char *const k_lora_names[FS_LORA_N_TARGETS] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                            "gate_proj", "up_proj", "down_proj"};

const char *fs_lora_target_name(enum fs_lora_target t) { return k_lora_names[t]; }

void fs_lora_targets_string(int mask, char *buf, size_t n)
{
  size_t k = 0;
  buf[0] = 0;
  for (int t = 0; t < FS_LORA_N_TARGETS; t++)
    if (mask >> t & 1 && k < n) k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? "," : "", k_lora_names[t]);
}

PetscErrorCode fs_lora_targets_parse(const char *list, int *mask)
{
  char item[64];

  PetscFunctionBegin;
  *mask = 0;
  for (const char *s = list; *s;) {
    size_t len = strcspn(s, ",");
    int found = -1;
    snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), s);
    for (int t = 0; t < FS_LORA_N_TARGETS; t++)
      if (!strcmp(item, k_lora_names[t])) found = t;
    FSCheck(found >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "-lora_target_modules: unknown module '%s' (choose among q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,"
            "down_proj)", item);
    *mask |= 1 << found;
    s += len + (s[len] == ',');
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_model_lora_options(struct fs_model_config *c)
{
  int64_t r;
  double alpha;
  char list[FS_OPT_STRLEN], def[256];

  PetscFunctionBegin;
  fs_opt_section("LoRA");
  PetscCall(fs_opt_int("-lora_rank", c->lora_rank, "LoRA rank r (0: off, full fine-tuning); > 0 freezes the base "
                       "weights and trains only the adapters", &r, NULL));
  PetscCall(fs_opt_real("-lora_alpha", c->lora_rank > 0 ? c->lora_alpha : 8.0,
                        "LoRA alpha: the adapters' output is scaled by alpha / r (PEFT's default 8)", &alpha, NULL));
  fs_lora_targets_string(c->lora_rank > 0 ? c->lora_targets : (1 << FS_LORA_Q) | (1 << FS_LORA_V), def, sizeof def);
  PetscCall(fs_opt_string("-lora_target_modules", def, "comma-separated layers that get adapters: q_proj,k_proj,"
                          "v_proj,o_proj,gate_proj,up_proj,down_proj", list, NULL));
  FSCheck(r >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-lora_rank must be >= 0 (got %lld)", (long long)r);
  c->lora_rank = (int)r;
  c->lora_alpha = (float)alpha;
  PetscCall(fs_lora_targets_parse(list, &c->lora_targets));
  if (!c->lora_rank) c->lora_targets = 0, c->lora_alpha = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
