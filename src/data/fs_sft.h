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
 * mask (seq_length) covers the targets tokens[1..seq_length], padding never trained.
 *
 * Packing (fs_sft_pack): whole conversations are packed greedily, several to a sample of seq_length + 1 tokens, in
 * file order (first fit over the most recent FS_SFT_PACK_OPEN samples with room; a conversation longer than the
 * sample is truncated as above and fills one alone).  A packed sample carries the position of each token inside
 * its conversation (0 at its first token), which keeps attention inside each conversation
 * (fs_model_set_positions); the target that would predict a conversation's first token from the previous one's
 * last is masked.  Padding after the last conversation counts as one more document, never trained. */
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
  /* packing (fs_sft_pack; pack_offset NULL = not packed, sample i is conversation i): n_docs conversations in the
   * n samples; sample i holds conversations pack_item[pack_offset[i] .. pack_offset[i + 1]) in file order */
  int64_t n_docs, *pack_offset, *pack_item;
};

enum { FS_SFT_PACK_OPEN = 64 }; /* packed samples still open for a conversation that fits */

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
/* the same with pos (seq_length): the position of input token tokens[j] inside its conversation (j when not packed) */
void fs_sft_sample_pos(const struct fs_sft_dataset *ds, int64_t i, int32_t *tokens, uint8_t *loss_mask, int32_t *pos);
/* packs the conversations (see above); afterwards n counts packed samples.  Once, before reading samples. */
PetscErrorCode fs_sft_pack(struct fs_sft_dataset *ds);
/* tokens of the conversations / tokens the samples hold (n x (seq_length + 1)): the share not spent on padding */
double fs_sft_efficiency(const struct fs_sft_dataset *ds);

/* the cyclic loader's order: global sample k is in epoch k / n at position k % n of that epoch's permutation,
 * numpy's RandomState(seed + epoch).shuffle(arange(n)) (MT19937).  The order depends on k only, not on the number
 * of ranks reading it. */
PetscErrorCode fs_sft_cyclic_index(struct fs_sft_dataset *ds, uint32_t seed, int64_t k, int64_t *i);

#endif
