/* fs_gguf_model.c -- GGUF (llama) <-> model */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "fs_gguf_model.h"
#include "fs_gguf.h"
#include "fs_model_io.h"

/* GGUF name of a parameter (HF LLaMA name) */
static int gguf_name(const char *hf, char *out, size_t n)
{
  static const char *const map[][2] = {
    {"input_layernorm.weight", "attn_norm.weight"}, {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},   {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"}};
  int layer, used = 0;
  if (!strcmp(hf, "model.embed_tokens.weight")) return snprintf(out, n, "token_embd.weight"), 1;
  if (!strcmp(hf, "model.norm.weight")) return snprintf(out, n, "output_norm.weight"), 1;
  if (!strcmp(hf, "lm_head.weight")) return snprintf(out, n, "output.weight"), 1;
  if (sscanf(hf, "model.layers.%d.%n", &layer, &used) == 1 && used > 0)
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
      if (!strcmp(hf + used, map[i][0])) return snprintf(out, n, "blk.%d.%s", layer, map[i][1]), 1;
  return 0;
}

/* llama.cpp keeps each head's rotary halves interleaved: gguf row h*D + 2i + j <-> HF row h*D + j*D/2 + i */
static void rotary_rows(float *dst, const float *src, int64_t n_head, int64_t D, int64_t C, int to_hf)
{
  for (int64_t h = 0; h < n_head; h++)
    for (int64_t i = 0; i < D / 2; i++)
      for (int64_t j = 0; j < 2; j++) {
        int64_t g = h * D + 2 * i + j, f = h * D + j * (D / 2) + i;
        memcpy(dst + (to_hf ? f : g) * C, src + (to_hf ? g : f) * C, C * sizeof(float));
      }
}

static PetscErrorCode kv_int(const struct fs_gguf *g, const char *key, int required, int64_t def, int *v)
{
  int64_t x = def;
  PetscFunctionBegin;
  if (fs_gguf_find_kv(g, key)) PetscCall(fs_gguf_get_int(g, key, &x));
  else FSCheck(!required, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "GGUF file lacks %s", key);
  *v = (int)x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode kv_real(const struct fs_gguf *g, const char *key, double def, float *v)
{
  double x = def;
  PetscFunctionBegin;
  if (fs_gguf_find_kv(g, key)) PetscCall(fs_gguf_get_float(g, key, &x));
  *v = (float)x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_tokenizer(const struct fs_gguf *g, const char *dir)
{
  char *const *tokens, *const *merges;
  int64_t n_tok, n_merge;
  char path[4096];

  PetscFunctionBegin;
  PetscCall(fs_gguf_get_string_array(g, "tokenizer.ggml.tokens", &n_tok, &tokens));
  PetscCall(fs_gguf_get_string_array(g, "tokenizer.ggml.merges", &n_merge, &merges));
  if (mkdir(dir, 0755) && errno != EEXIST) FSCallSys(-1, dir);
  json_t *vocab = json_object();
  for (int64_t i = 0; i < n_tok; i++) json_object_set_new(vocab, tokens[i], json_integer(i));
  snprintf(path, sizeof path, "%s/vocab.json", dir);
  int rc = json_dump_file(vocab, path, JSON_COMPACT);
  json_decref(vocab);
  FSCheck(rc == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  snprintf(path, sizeof path, "%s/merges.txt", dir);
  FILE *f = fopen(path, "w");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  fprintf(f, "#version: 0.2\n");
  for (int64_t i = 0; i < n_merge; i++) fprintf(f, "%s\n", merges[i]);
  FSCheck(fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  /* control and user-defined tokens (token_type 3, 4: <|im_start|> ...) are split out of text before BPE, as
   * Hugging Face's added special tokens: special_tokens.txt, they keep their vocabulary ids */
  if (fs_gguf_find_kv(g, "tokenizer.ggml.token_type")) {
    int64_t n_types, *types = NULL, n_special = 0;
    PetscCall(fs_gguf_get_int_array(g, "tokenizer.ggml.token_type", &n_types, &types));
    snprintf(path, sizeof path, "%s/special_tokens.txt", dir);
    f = fopen(path, "w");
    if (!f) free(types);
    FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    for (int64_t i = 0; i < n_types && i < n_tok; i++)
      if ((types[i] == 3 || types[i] == 4) && tokens[i][0]) fprintf(f, "%s\n", tokens[i]), n_special++;
    free(types);
    FSCheck(fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
    if (!n_special) FSCallSys(unlink(path), path);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode import_model(const struct fs_gguf *g, const char *path, struct fs_model **out)
{
  struct fs_model_config c;
  const char *arch = NULL;
  char name[128];
  int64_t n_tok = 0;
  char *const *tokens;

  PetscFunctionBegin;
  PetscCall(fs_gguf_get_string(g, "general.architecture", &arch));
  FSCheck(!strcmp(arch, "llama"), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: architecture \"%s\": only llama imports", path, arch);
  fs_model_config_default(&c);
  c.make_vocab_size_divisible_by = 1;
  PetscCall(kv_int(g, "llama.block_count", 1, 0, &c.num_layers));
  PetscCall(kv_int(g, "llama.embedding_length", 1, 0, &c.hidden_size));
  PetscCall(kv_int(g, "llama.feed_forward_length", 1, 0, &c.ffn_hidden_size));
  PetscCall(kv_int(g, "llama.attention.head_count", 1, 0, &c.num_attention_heads));
  PetscCall(kv_int(g, "llama.attention.head_count_kv", 0, c.num_attention_heads, &c.num_query_groups));
  PetscCall(kv_int(g, "llama.context_length", 0, 2048, &c.max_position_embeddings));
  PetscCall(kv_real(g, "llama.attention.layer_norm_rms_epsilon", 1e-5, &c.norm_epsilon));
  PetscCall(kv_real(g, "llama.rope.freq_base", 10000.0, &c.rotary_base));
  c.seq_length = c.max_position_embeddings;
  if (fs_gguf_find_kv(g, "tokenizer.ggml.tokens")) PetscCall(fs_gguf_get_string_array(g, "tokenizer.ggml.tokens", &n_tok, &tokens));
  else {
    int nv;
    PetscCall(kv_int(g, "llama.vocab_size", 1, 0, &nv));
    n_tok = nv;
  }
  c.vocab_size = (int)n_tok;
  c.untie_embeddings_and_output_weights = fs_gguf_find_tensor(g, "output.weight") != NULL;
  PetscCall(fs_model_config_finalize(&c, 1));
  PetscCall(fs_model_create(&c, &fs_ops_cpu, out));
  struct fs_model *m = *out;
  float *tmp = NULL;
  FSMalloc((size_t)c.vocab_size * c.hidden_size * sizeof(float) + (size_t)c.ffn_hidden_size * c.hidden_size * 4 +
             (size_t)c.num_attention_heads * c.head_dim * c.hidden_size * 4, &tmp);
  for (int i = 0; i < m->table.n; i++) {
    const struct fs_param *p = &m->table.p[i];
    const int64_t rows = fs_model_stored_rows(m, p), n = rows * p->shape[1];
    float *w = m->params + p->offset;
    FSCheck(gguf_name(p->name, name, sizeof name), PETSC_COMM_SELF, PETSC_ERR_PLIB, "no GGUF name for %s", p->name);
    int rotary = p->role == FS_P_Q_W || p->role == FS_P_K_W;
    PetscCall(fs_gguf_read_tensor_f32(g, name, n, rotary ? tmp : w));
    if (rotary)
      rotary_rows(w, tmp, p->role == FS_P_Q_W ? c.num_attention_heads : c.num_query_groups, c.head_dim, p->shape[1], 1);
  }
  free(tmp);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_import(const char *path, const char *tokenizer_dir, struct fs_model **m, char **chat_template)
{
  struct fs_gguf *g = NULL;

  PetscFunctionBegin;
  *m = NULL;
  *chat_template = NULL;
  PetscCall(fs_gguf_open(path, &g));
  PetscErrorCode ierr = import_model(g, path, m);
  if (!ierr && tokenizer_dir && fs_gguf_find_kv(g, "tokenizer.ggml.merges")) ierr = write_tokenizer(g, tokenizer_dir);
  if (!ierr && fs_gguf_find_kv(g, "tokenizer.chat_template")) {
    const char *t;
    ierr = fs_gguf_get_string(g, "tokenizer.chat_template", &t);
    if (!ierr) *chat_template = strdup(t);
  }
  PetscCall(fs_gguf_close(&g));
  if (ierr) fs_model_destroy(m);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* tokens by id from vocab.json, and merges.txt lines */
static PetscErrorCode read_bpe_files(const char *dir, int64_t vocab_size, char ***tokens, char ***merges, int64_t *n_merges)
{
  char path[4096], line[1024];
  json_error_t err;

  PetscFunctionBegin;
  snprintf(path, sizeof path, "%s/vocab.json", dir);
  json_t *v = json_load_file(path, 0, &err);
  FSCheck(json_is_object(v), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: %s", path, err.text);
  FSCalloc(vocab_size * sizeof(char *), tokens);
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val)
  {
    int64_t id = json_integer_value(val);
    if (id >= 0 && id < vocab_size) (*tokens)[id] = strdup(key);
  }
  json_decref(v);
  snprintf(path, sizeof path, "%s/special_tokens.txt", dir);
  FILE *f = fopen(path, "r");
  for (int64_t id = 0; f && fgets(line, sizeof line, f);) {
    line[strcspn(line, "\r\n")] = 0;
    while (id < vocab_size && (*tokens)[id]) id++;
    if (line[0] && id < vocab_size) (*tokens)[id] = strdup(line);
  }
  if (f) fclose(f);
  for (int64_t id = 0; id < vocab_size; id++)
    if (!(*tokens)[id]) {
      snprintf(line, sizeof line, "[PAD%lld]", (long long)id);
      (*tokens)[id] = strdup(line);
    }
  snprintf(path, sizeof path, "%s/merges.txt", dir);
  f = fopen(path, "r");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s", path);
  int64_t cap = 1024;
  *n_merges = 0;
  FSMalloc(cap * sizeof(char *), merges);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || !strncmp(line, "#version", 8)) continue;
    if (*n_merges == cap) {
      char **q = realloc(*merges, 2 * cap * sizeof(char *));
      FSCheck(q, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
      *merges = q, cap *= 2;
    }
    (*merges)[(*n_merges)++] = strdup(line);
  }
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode export_body(struct fs_gguf_writer *w, const struct fs_model *m, enum fs_dtype file_dtype,
                                  const char *tokenizer_dir, int eos_id)
{
  const struct fs_model_config *c = &m->cfg;
  char name[128];
  float *tmp = NULL;

  PetscFunctionBegin;
  FSCheck(c->normalization == FS_NORM_RMSNORM && c->position_embedding_type == FS_POS_ROPE && c->swiglu &&
            !c->add_bias_linear,
          PETSC_COMM_SELF, PETSC_ERR_SUP, "GGUF export supports the LLaMA structure only");
  PetscCall(fs_gguf_writer_set_string(w, "general.architecture", "llama"));
  PetscCall(fs_gguf_writer_set_string(w, "general.name", "flagscale-export"));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.block_count", (uint32_t)c->num_layers));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.context_length", (uint32_t)c->max_position_embeddings));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.embedding_length", (uint32_t)c->hidden_size));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.feed_forward_length", (uint32_t)c->ffn_hidden_size));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.attention.head_count", (uint32_t)c->num_attention_heads));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.attention.head_count_kv", (uint32_t)c->num_query_groups));
  PetscCall(fs_gguf_writer_set_float32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_epsilon));
  PetscCall(fs_gguf_writer_set_float32(w, "llama.rope.freq_base", c->rotary_base));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.rope.dimension_count", (uint32_t)c->head_dim));
  PetscCall(fs_gguf_writer_set_uint32(w, "llama.vocab_size", (uint32_t)c->vocab_size));
  if (tokenizer_dir) {
    char **tokens = NULL, **merges = NULL;
    int64_t n_merges = 0;
    PetscCall(read_bpe_files(tokenizer_dir, c->vocab_size, &tokens, &merges, &n_merges));
    PetscCall(fs_gguf_writer_set_string(w, "tokenizer.ggml.model", "gpt2"));
    PetscCall(fs_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", c->vocab_size, (const char *const *)tokens));
    PetscCall(fs_gguf_writer_set_string_array(w, "tokenizer.ggml.merges", n_merges, (const char *const *)merges));
    if (eos_id >= 0) {
      PetscCall(fs_gguf_writer_set_uint32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos_id));
      PetscCall(fs_gguf_writer_set_uint32(w, "tokenizer.ggml.bos_token_id", (uint32_t)eos_id));
    }
    for (int64_t i = 0; i < c->vocab_size; i++) free(tokens[i]);
    for (int64_t i = 0; i < n_merges; i++) free(merges[i]);
    free(tokens), free(merges);
  }
  FSMalloc((size_t)c->num_attention_heads * c->head_dim * c->hidden_size * sizeof(float), &tmp);
  PetscErrorCode ierr = PETSC_SUCCESS;
  for (int i = 0; i < m->table.n && !ierr; i++) {
    const struct fs_param *p = &m->table.p[i];
    int64_t shape[2] = {fs_model_stored_rows(m, p), p->shape[1]};
    const float *src = m->params + p->offset;
    gguf_name(p->name, name, sizeof name);
    if (p->role == FS_P_Q_W || p->role == FS_P_K_W) {
      rotary_rows(tmp, src, p->role == FS_P_Q_W ? c->num_attention_heads : c->num_query_groups, c->head_dim, p->shape[1], 0);
      src = tmp;
    }
    /* norms stay F32 (as llama.cpp writes them) */
    int type = p->ndim == 1 || file_dtype == FS_DTYPE_F32 ? FS_GGML_F32 : FS_GGML_F16;
    ierr = fs_gguf_writer_add_tensor(w, name, type, p->ndim, shape, src);
  }
  free(tmp);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_gguf_export(const char *path, const struct fs_model *m, enum fs_dtype file_dtype,
                              const char *tokenizer_dir, int eos_id)
{
  struct fs_gguf_writer *w = NULL;

  PetscFunctionBegin;
  FSCheck(file_dtype == FS_DTYPE_F32 || file_dtype == FS_DTYPE_F16, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "GGUF export writes fp32 or fp16");
  PetscCall(fs_gguf_writer_create(path, &w));
  PetscErrorCode ierr = export_body(w, m, file_dtype, tokenizer_dir, eos_id);
  if (ierr) {
    fs_gguf_writer_abort(&w);
    PetscCall(ierr);
  }
  PetscCall(fs_gguf_writer_finish(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}
