/* fs_serve_logprobs.c -- OpenAI's logprobs objects of result tokens, from a finished job (the whole reply) or from
 * a stream's tokens so far (one chunk's tokens): both are read through struct fs_lp. */
#include <stdint.h>
#include "fs_serve_http.h"

struct fs_lp fs_job_lp(const struct fs_serve_job *j)
{
  return (struct fs_lp){.pieces = j->pieces, .piece_off = j->piece_off, .logprobs = j->logprobs,
                        .top_logprobs = j->top_logprobs, .n_top = j->n_top, .tok0 = j->n_prompt, .stride = 1,
                        .alt0 = j->n_prompt + j->n_tokens, .alt_stride = j->n_top};
}

struct fs_lp fs_stream_lp_view(const struct fs_stream_lp *b)
{
  return (struct fs_lp){.pieces = b->pieces, .piece_off = b->piece_off, .logprobs = b->logprobs,
                        .top_logprobs = b->top_logprobs, .n_top = b->n_top, .tok0 = 0, .stride = 1 + b->n_top,
                        .alt0 = 1, .alt_stride = 1 + b->n_top};
}

static int64_t tok_piece(const struct fs_lp *lp, int64_t t) { return lp->tok0 + t * lp->stride; }
static int64_t alt_piece(const struct fs_lp *lp, int64_t t, int k) { return lp->alt0 + t * lp->alt_stride + k; }

static json_t *piece(const struct fs_lp *lp, int64_t i)
{
  return fs_json_text(lp->pieces + lp->piece_off[i], lp->piece_off[i + 1] - lp->piece_off[i]);
}

json_t *fs_lp_completion(const struct fs_lp *lp, int64_t t0, int64_t t1, size_t *offset)
{
  json_t *toks = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
  for (int64_t t = t0; t < t1; t++) {
    int64_t p = tok_piece(lp, t);
    json_array_append_new(toks, piece(lp, p));
    json_array_append_new(lps, json_real(lp->logprobs[t]));
    json_array_append_new(offs, json_integer((json_int_t)*offset));
    *offset += lp->piece_off[p + 1] - lp->piece_off[p];
    json_t *d = json_object();
    for (int k = 0; k < lp->n_top; k++) { /* two alternatives with the same text keep the likelier (first) */
      json_t *key = piece(lp, alt_piece(lp, t, k));
      if (key && !json_object_get(d, json_string_value(key)))
        json_object_set_new(d, json_string_value(key), json_real(lp->top_logprobs[t * lp->n_top + k]));
      json_decref(key);
    }
    json_array_append_new(tops, d);
  }
  return json_pack("{s:o,s:o,s:o,s:o}", "tokens", toks, "token_logprobs", lps, "top_logprobs", tops, "text_offset",
                   offs);
}

/* {"token", "logprob", "bytes"} of piece p */
static json_t *chat_token(const struct fs_lp *lp, int64_t p, float logprob)
{
  json_t *bytes = json_array();
  for (size_t q = lp->piece_off[p]; q < lp->piece_off[p + 1]; q++)
    json_array_append_new(bytes, json_integer((unsigned char)lp->pieces[q]));
  return json_pack("{s:o,s:f,s:o}", "token", piece(lp, p), "logprob", logprob, "bytes", bytes);
}

json_t *fs_lp_chat(const struct fs_lp *lp, int64_t t0, int64_t t1)
{
  json_t *content = json_array();
  for (int64_t t = t0; t < t1; t++) {
    json_t *c = chat_token(lp, tok_piece(lp, t), lp->logprobs[t]), *tops = json_array();
    for (int k = 0; k < lp->n_top; k++)
      json_array_append_new(tops, chat_token(lp, alt_piece(lp, t, k), lp->top_logprobs[t * lp->n_top + k]));
    json_object_set_new(c, "top_logprobs", tops);
    json_array_append_new(content, c);
  }
  return json_pack("{s:o}", "content", content);
}
