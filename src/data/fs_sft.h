/* fs_sft.h -- supervised fine-tuning datasets: jsonl conversations tokenized with a chat template, each token
 * flagged as trained (a target the loss counts) or not.
 *
 * Input lines (one JSON object per line; blank lines are skipped):
 *   the original FlagScale's:  {"instruction": str, "conversations": [{"from": "human"|"gpt", "value": str}, ...]}
 *   OpenAI's:                  {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}
 *   continued pretraining (FS_SFT_CPT): {"text": str}, every token trained
 * A conversation is rendered with fs_chat.h's template turn by turn and tokenized segment by segment, as inference
 * tokenizes a prompt: the text up to where an assistant reply starts (system text, user turns, the assistant
 * header) is masked; each assistant reply and its end-of-turn marker ("\n" for Aquila, "<|im_end|>" for ChatML) are
 * trained.  Aquila also starts with [CLS] (masked) and ends with </s> (trained), as the original's SFT data.  A
 * non-empty "instruction" (or a "system" key) becomes the system text; with Aquila the instruction follows the
 * default system text on a line of its own.  User turns after the last reply are dropped.
 *
 * A sample is seq_length + 1 tokens: longer conversations are truncated, shorter ones padded with pad_id; the loss
 * mask (seq_length) covers the targets tokens[1..seq_length], padding never trained.  Samples are never packed
 * several to a sequence: that needs document-aware attention masks the model does not have. */
#ifndef FS_SFT_H
#define FS_SFT_H

#include <stdint.h>
#include "fs_error.h"
#include "fs_chat.h"
#include "fs_tokenizer.h"

enum fs_sft_type { FS_SFT_CONVO = 0, FS_SFT_CPT = 1 };

struct fs_sft_opts {
  enum fs_sft_type type;
  enum fs_chat_template tmpl;
  int seq_length;
  int32_t pad_id; /* the original pads with 0 */
};

struct fs_sft_dataset {
  struct fs_sft_opts opts;
  int64_t n;             /* samples */
  int64_t *offset;       /* (n + 1): sample i is ids[offset[i] .. offset[i + 1]) */
  int32_t *ids;          /* (offset[n]) token ids */
  uint8_t *trained;      /* (offset[n]) 1: the token is a trained target (predicted from the one before) */
  int64_t n_lines;       /* non-blank lines read */
  int64_t n_truncated;   /* samples longer than seq_length + 1 tokens */
  int64_t n_dropped;     /* lines left with no trained target inside seq_length + 1 tokens */
  int64_t n_trained;     /* trained targets over all samples (after truncation) */
  /* the cyclic order's cache: the permutation of epoch perm_epoch (-1 = none) */
  int64_t perm_epoch, *perm;
};

/* tokens (appended to ids) and their trained flags (appended to trained, same length) for one parsed line.  json
 * is the line's text; where ("FILE:LINE") prefixes error messages. */
struct fs_sft_buf {
  struct fs_tokens ids;
  uint8_t *trained;
  int64_t cap_trained;
};
PetscErrorCode fs_sft_encode_line(const char *json, const char *where, const struct fs_sft_opts *o,
                                  struct fs_tokenizer *tok, struct fs_sft_buf *out);
void fs_sft_buf_free(struct fs_sft_buf *b);

/* reads and tokenizes every line of path (each rank reads the whole file: a few 100k conversations take seconds).
 * A malformed line is an error naming path:line and what is wrong. */
PetscErrorCode fs_sft_load(const char *path, const struct fs_sft_opts *o, struct fs_tokenizer *tok,
                           struct fs_sft_dataset **ds);
PetscErrorCode fs_sft_destroy(struct fs_sft_dataset **ds);

/* sample i (0 <= i < n): tokens (seq_length + 1), truncated or padded; loss_mask (seq_length) for the targets
 * tokens[1 .. seq_length] */
void fs_sft_sample(const struct fs_sft_dataset *ds, int64_t i, int32_t *tokens, uint8_t *loss_mask);

/* the cyclic loader's order: global sample k is in epoch k / n at position k % n of that epoch's permutation,
 * numpy's RandomState(seed + epoch).shuffle(arange(n)) (MT19937).  The order depends on k only, not on the number
 * of ranks reading it. */
PetscErrorCode fs_sft_cyclic_index(struct fs_sft_dataset *ds, uint32_t seed, int64_t k, int64_t *i);

#endif
