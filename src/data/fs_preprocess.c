/* fs_preprocess.c -- flagscale-preprocess: options, the parallel split of the jsonl input, tokenizing, the
 * error report, and writing the indexed datasets (see fs_preprocess.h for the contract) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>
#include <sys/mman.h>
#include <jansson.h>
#include "fs_preprocess.h"
#include "fs_indexed.h"
#include "fs_file.h"
#include "fs_tokenizer_options.h"
#include "fs_opt.h"
#include "fs_log.h"

#ifndef FS_DATADIR
#define FS_DATADIR "/usr/local/share/flagscale"
#endif

enum { PP_SKIP, PP_FAIL };
enum pp_fault { PP_BAD_UTF8, PP_BAD_JSON, PP_NOT_OBJECT, PP_MISSING_KEY, PP_NOT_STRING, PP_N_FAULTS };
static const char *const pp_fault_names[PP_N_FAULTS] = {"invalid UTF-8", "malformed JSON", "not a JSON object",
                                                        "missing key", "non-string value"};

struct pp_opts {
  char input[FS_OPT_STRLEN], prefix[FS_OPT_STRLEN];
  struct fs_tokenizer_opts tok;
  int on_error;
  char **keys;
  int n_keys;
  PetscBool append_eod;
  int64_t log_interval, max_listed;
  double log_seconds;
};

/* the part of one output dataset this rank produced */
struct pp_out {
  unsigned char *bin; /* (n_bytes) packed tokens */
  int64_t n_bytes, cap_bytes;
  int32_t *sizes;     /* (n_docs) tokens per document */
  int64_t n_docs, cap_docs;
  int64_t n_empty;    /* documents with no tokens, skipped */
};

#define PP_WHAT 240
struct pp_fault_rec {
  int64_t line;
  int32_t kind;
  char what[PP_WHAT];
};

struct pp_state {
  const struct pp_opts *o;
  struct fs_tokenizer *tok;
  int dtype, item;
  struct pp_out *out;        /* (n_keys) */
  struct fs_tokens toks;
  int64_t n_faults[PP_N_FAULTS];
  struct pp_fault_rec *listed; /* (max_listed) the first faults of this rank */
  int n_listed;
  int64_t n_lines, n_docs, n_tokens;
};

/* ------------------------------------------------------------------ helpers */

int64_t fs_jsonl_line_start(const char *buf, int64_t n, int64_t pos)
{
  if (pos <= 0) return 0;
  if (pos >= n) return n;
  if (buf[pos - 1] == '\n') return pos;
  const char *nl = memchr(buf + pos, '\n', (size_t)(n - pos));
  return nl ? nl - buf + 1 : n;
}

int fs_utf8_valid(const char *str, size_t n, size_t *bad_at)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;      /* overlong */
      else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;      /* overlong */
      else if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else goto bad;
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) goto bad;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
    i += len;
  }
  return 1;
bad:
  if (bad_at) *bad_at = i;
  return 0;
}

static PetscErrorCode grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
  PetscFunctionBegin;
  if (need > *cap) {
    int64_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    FSCheck(q, PETSC_COMM_SELF, PETSC_ERR_MEM,
            "out of memory holding %" PRId64 " x %zu bytes of tokenized output (run on more ranks)", c, elem);
    *p = q;
    *cap = c;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ options */

static PetscErrorCode read_options(struct pp_opts *o, PetscBool *stop, MPI_Comm comm, const char *app,
                                   const char *summary)
{
  PetscFunctionBegin;
  memset(o, 0, sizeof *o);
  fs_opt_section("Input and output");
  PetscCall(fs_opt_string("-input", NULL, "jsonl file: one JSON object per line (blank lines are skipped)", o->input,
                          NULL));
  PetscCall(fs_opt_string("-output_prefix", NULL,
                          "writes PREFIX_<key>_document.bin and .idx for each json key (Megatron naming)",
                          o->prefix, NULL));
  PetscCall(fs_opt_string_list("-json_keys", "text", "comma-separated keys of the JSON objects to tokenize",
                               &o->keys, &o->n_keys, NULL));
  PetscCall(fs_opt_bool("-append_eod", PETSC_FALSE, "append the end-of-document token to every document",
                        &o->append_eod, NULL));
  PetscCall(fs_opt_enum("-on_error", "skip|fail", PP_SKIP,
                        "bad lines (malformed JSON, missing key, non-string value, invalid UTF-8): skip and report "
                        "them with line numbers, or stop at the first with an error",
                        &o->on_error, NULL));
  PetscCall(fs_opt_int("-error_list", 10, "how many bad lines to list by line number (all are counted)",
                       &o->max_listed, NULL));
  PetscCall(fs_opt_int("-log_interval", 1000, "progress line every N documents of rank 0 (0: off)",
                       &o->log_interval, NULL));
  PetscCall(fs_opt_real("-log_seconds", 30, "... and at least every S seconds (0: off)", &o->log_seconds, NULL));
  PetscCall(fs_tokenizer_options(&o->tok));
  PetscCall(fs_opt_finish(comm, app, summary, stop));
  if (*stop) PetscFunctionReturn(PETSC_SUCCESS);
  FSCheck(o->input[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -input FILE.jsonl", app);
  FSCheck(o->prefix[0], comm, PETSC_ERR_ARG_WRONG, "%s needs -output_prefix PREFIX", app);
  FSCheck(o->n_keys > 0, comm, PETSC_ERR_ARG_WRONG, "-json_keys is empty");
  FSCheck(o->max_listed >= 0 && o->max_listed <= 100000, comm, PETSC_ERR_ARG_OUTOFRANGE,
          "-error_list must be in [0, 100000]");
  for (int i = 0; i < o->n_keys; i++)
    for (int j = 0; j < i; j++)
      FSCheck(strcmp(o->keys[i], o->keys[j]), comm, PETSC_ERR_ARG_WRONG, "-json_keys lists '%s' twice", o->keys[i]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ one line */

static PetscErrorCode fault(struct pp_state *st, const char *input, int64_t line, enum pp_fault kind,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static PetscErrorCode fault(struct pp_state *st, const char *input, int64_t line, enum pp_fault kind,
                            const char *fmt, ...)
{
  char what[PP_WHAT];
  va_list ap;

  PetscFunctionBegin;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  FSCheck(st->o->on_error != PP_FAIL, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s:%" PRId64 ": %s: %s\n  (fix the line, or run with -on_error skip to skip and report bad lines)", input,
          line, pp_fault_names[kind], what);
  st->n_faults[kind]++;
  if (st->n_listed < st->o->max_listed) {
    struct pp_fault_rec *r = &st->listed[st->n_listed++];
    r->line = line;
    r->kind = kind;
    snprintf(r->what, sizeof r->what, "%s", what);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode add_document(struct pp_state *st, struct pp_out *out, const char *text, size_t n_bytes)
{
  PetscFunctionBegin;
  fs_tokens_clear(&st->toks);
  PetscCall(fs_tokenizer_encode(st->tok, text, n_bytes, &st->toks));
  if (st->toks.n == 0) { /* Megatron drops documents without tokens (their eod is not appended either) */
    out->n_empty++;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (st->o->append_eod) PetscCall(fs_tokens_push(&st->toks, fs_tokenizer_eod(st->tok)));
  FSCheck(st->toks.n <= INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
          "a document of %" PRId64 " tokens does not fit the int32 sizes of the .idx format", st->toks.n);
  PetscCall(grow((void **)&out->bin, &out->cap_bytes, out->n_bytes + st->toks.n * st->item, 1));
  PetscCall(fs_idx_pack(st->dtype, st->toks.ids, st->toks.n, out->bin + out->n_bytes));
  out->n_bytes += st->toks.n * st->item;
  PetscCall(grow((void **)&out->sizes, &out->cap_docs, out->n_docs + 1, sizeof *out->sizes));
  out->sizes[out->n_docs++] = (int32_t)st->toks.n;
  st->n_tokens += st->toks.n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* one line (without its '\n'); every key is checked before any is tokenized, so the datasets stay aligned */
static PetscErrorCode process_line(struct pp_state *st, const char *line, size_t n, int64_t line_no)
{
  const struct pp_opts *o = st->o;
  json_error_t jerr;
  json_t *root;
  size_t bad;
  int blank = 1;

  PetscFunctionBegin;
  for (size_t i = 0; i < n && blank; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') blank = 0;
  if (blank) PetscFunctionReturn(PETSC_SUCCESS);
  if (!fs_utf8_valid(line, n, &bad)) {
    PetscCall(fault(st, o->input, line_no, PP_BAD_UTF8, "byte 0x%02x at column %zu", (unsigned char)line[bad],
                    bad + 1));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* ints as reals: Python accepts integers of any size; only the strings matter here */
  root = json_loadb(line, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
  if (!root) {
    PetscCall(fault(st, o->input, line_no, PP_BAD_JSON, "%s (column %d)", jerr.text, jerr.column));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!json_is_object(root)) {
    json_decref(root);
    PetscCall(fault(st, o->input, line_no, PP_NOT_OBJECT, "expected {\"%s\": \"...\"}", o->keys[0]));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (int k = 0; k < o->n_keys; k++) {
    json_t *v = json_object_get(root, o->keys[k]);
    if (!v || !json_is_string(v)) {
      json_decref(root);
      if (!v) PetscCall(fault(st, o->input, line_no, PP_MISSING_KEY, "no key \"%s\" (see -json_keys)", o->keys[k]));
      else PetscCall(fault(st, o->input, line_no, PP_NOT_STRING, "the value of \"%s\" is not a string", o->keys[k]));
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  }
  for (int k = 0; k < o->n_keys; k++) {
    json_t *v = json_object_get(root, o->keys[k]);
    PetscErrorCode ierr = add_document(st, &st->out[k], json_string_value(v), json_string_length(v));
    if (ierr) json_decref(root);
    PetscCall(ierr);
  }
  json_decref(root);
  st->n_docs++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ the rank's share */

static void format_eta(char *buf, size_t n, double s)
{
  if (!(s >= 0) || s > 1e7) snprintf(buf, n, "?");
  else if (s >= 3600) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
  else if (s >= 60) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else snprintf(buf, n, "%.0fs", s);
}

static PetscErrorCode process_range(struct pp_state *st, const char *buf, int64_t begin, int64_t end,
                                    int64_t first_line, int n_ranks, double t0)
{
  const struct pp_opts *o = st->o;
  double last_log = t0;
  int64_t last_docs = 0, line_no = first_line, p = begin;

  PetscFunctionBegin;
  while (p < end) {
    const char *nl = memchr(buf + p, '\n', (size_t)(end - p));
    int64_t q = nl ? nl - buf : end;
    PetscCall(process_line(st, buf + p, (size_t)(q - p), line_no));
    st->n_lines++;
    line_no++;
    p = q + 1;
    /* progress from rank 0's share, extrapolated to all ranks (they run at about the same speed) */
    if (fs_log_rank_of_world() == 0 && st->n_docs > 0) {
      PetscBool by_count = o->log_interval > 0 && st->n_docs % o->log_interval == 0 && st->n_docs != last_docs;
      double now = (st->n_lines % 64 == 0 || by_count) ? MPI_Wtime() : last_log;
      if (by_count || (o->log_seconds > 0 && now - last_log >= o->log_seconds)) {
        double frac = (double)(p - begin) / (double)(end - begin), dt = now - t0, mbs = 0;
        char eta[32];
        if (dt > 0) mbs = (double)(p - begin) * n_ranks / dt / 1e6;
        format_eta(eta, sizeof eta, frac > 0 ? dt * (1 - frac) / frac : -1);
        fs_log_info("processed %" PRId64 " documents on rank 0 (~%" PRId64 " in all), %.2f MB/s, %.1f%% done, ETA %s",
                    st->n_docs, st->n_docs * n_ranks, mbs, 100 * frac, eta);
        last_log = now;
        last_docs = st->n_docs;
      }
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ output */

static PetscErrorCode check_all(MPI_Comm comm, int ok_here, const char *what)
{
  int ok_all = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&ok_here, &ok_all, 1, MPI_INT, MPI_MIN, comm));
  FSCheck(ok_all, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s failed on %s rank", what,
          ok_here ? "another" : "this");
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode mpi_error_text(int err, char *buf)
{
  int len = 0;
  PetscFunctionBegin;
  if (MPI_Error_string(err, buf, &len) != MPI_SUCCESS) snprintf(buf, MPI_MAX_ERROR_STRING, "MPI error %d", err);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* every rank writes its bytes at the exclusive prefix sum of the byte counts; the file is sized to the total so
 * an older, longer file of the same name leaves nothing behind */
static PetscErrorCode write_bin(MPI_Comm comm, const char *path, const struct pp_out *out)
{
  int64_t offset = 0, total = 0, mine = out->n_bytes;
  char msg[MPI_MAX_ERROR_STRING];
  MPI_File fh;
  int rank, err;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Exscan(&mine, &offset, 1, MPI_INT64_T, MPI_SUM, comm));
  if (rank == 0) offset = 0; /* MPI_Exscan leaves rank 0's result undefined */
  PetscCallMPI(MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, comm));
  err = MPI_File_open(comm, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
  if (err != MPI_SUCCESS) {
    PetscCall(mpi_error_text(err, msg));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s (does the directory exist? is it writable?)",
            path, msg);
  }
  err = MPI_File_set_size(fh, (MPI_Offset)total);
  if (err == MPI_SUCCESS)
    for (int64_t done = 0; done < mine && err == MPI_SUCCESS;) {
      int chunk = mine - done > (1 << 30) ? (1 << 30) : (int)(mine - done);
      MPI_Status status;
      int count = 0;
      err = MPI_File_write_at(fh, (MPI_Offset)(offset + done), out->bin + done, chunk, MPI_BYTE, &status);
      /* Open MPI's I/O layer can answer a failed write(2) (disk full) with success and a short count */
      if (err == MPI_SUCCESS && (MPI_Get_count(&status, MPI_BYTE, &count) != MPI_SUCCESS || count != chunk)) {
        snprintf(msg, sizeof msg, "%d of %d bytes written at offset %" PRId64, count, chunk, offset + done);
        err = MPI_ERR_IO;
        break;
      }
      done += chunk;
    }
  if (err != MPI_SUCCESS && err != MPI_ERR_IO) PetscCall(mpi_error_text(err, msg));
  int close_err = MPI_File_close(&fh);
  if (err == MPI_SUCCESS && close_err != MPI_SUCCESS) {
    err = close_err;
    PetscCall(mpi_error_text(err, msg));
  }
  FSCheck(err == MPI_SUCCESS, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s: %s (disk full?)", path, msg);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* rank 0 gathers every rank's document sizes (in rank = file order) and writes the .idx */
static PetscErrorCode write_idx(MPI_Comm comm, const char *path, int dtype, const struct pp_out *out)
{
  int rank, size, mine = (int)out->n_docs, *counts = NULL, *displs = NULL, ok = 1;
  int32_t *sizes = NULL;
  int64_t *doc_idx = NULL, total = 0;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  FSCheck(out->n_docs <= INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP,
          "%" PRId64 " documents on one rank: more than MPI counts hold (run on more ranks)", out->n_docs);
  if (rank == 0) {
    FSMalloc(sizeof(int) * (size_t)size, &counts);
    FSMalloc(sizeof(int) * (size_t)size, &displs);
  }
  PetscCallMPI(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  if (rank == 0) {
    for (int r = 0; r < size; r++) {
      displs[r] = (int)total;
      total += counts[r];
      if (total > INT_MAX) ok = 0;
    }
  }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  FSCheck(ok, PETSC_COMM_SELF, PETSC_ERR_SUP, "more than %d documents: MPI_Gatherv cannot collect their sizes",
          INT_MAX);
  if (rank == 0) FSMalloc(sizeof *sizes * ((size_t)total + 1), &sizes);
  PetscCallMPI(MPI_Gatherv(out->sizes, mine, MPI_INT32_T, sizes, counts, displs, MPI_INT32_T, 0, comm));
  if (rank == 0) {
    /* without sentence splitting each document is one sequence: doc_idx = 0, 1, ..., n */
    FSMalloc(sizeof *doc_idx * ((size_t)total + 1), &doc_idx);
    for (int64_t i = 0; i <= total; i++) doc_idx[i] = i;
    ierr = fs_indexed_write_index(path, dtype, sizes, total, doc_idx, total + 1);
    free(doc_idx);
    free(sizes);
    free(counts);
    free(displs);
  }
  PetscCall(check_all(comm, ierr == PETSC_SUCCESS, "writing the index"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ report */

static int cmp_fault(const void *a, const void *b)
{
  const struct pp_fault_rec *x = a, *y = b;
  return (x->line > y->line) - (x->line < y->line);
}

/* the first faults of all ranks, in line order, and the totals per kind, printed on rank 0 */
static PetscErrorCode report_faults(MPI_Comm comm, struct pp_state *st, int64_t *n_total)
{
  int64_t counts[PP_N_FAULTS];
  int rank, size, n_list = (int)st->o->max_listed;
  struct pp_fault_rec *all = NULL;
  MPI_Datatype rec;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Allreduce(st->n_faults, counts, PP_N_FAULTS, MPI_INT64_T, MPI_SUM, comm));
  *n_total = 0;
  for (int k = 0; k < PP_N_FAULTS; k++) *n_total += counts[k];
  if (*n_total == 0 || n_list == 0) PetscFunctionReturn(PETSC_SUCCESS);
  /* unused slots have line INT64_MAX so they sort last */
  for (int i = st->n_listed; i < n_list; i++) st->listed[i].line = INT64_MAX;
  PetscCallMPI(MPI_Type_contiguous((int)sizeof(struct pp_fault_rec), MPI_BYTE, &rec));
  PetscCallMPI(MPI_Type_commit(&rec));
  if (rank == 0) FSMalloc(sizeof *all * (size_t)n_list * (size_t)size, &all);
  PetscCallMPI(MPI_Gather(st->listed, n_list, rec, all, n_list, rec, 0, comm));
  PetscCallMPI(MPI_Type_free(&rec));
  if (rank == 0) {
    qsort(all, (size_t)n_list * (size_t)size, sizeof *all, cmp_fault);
    fs_log_warn("%" PRId64 " bad lines skipped (-on_error skip); the first ones:", *n_total);
    for (int i = 0; i < n_list && all[i].line != INT64_MAX; i++)
      fs_log_warn("  %s:%" PRId64 ": %s: %s", st->o->input, all[i].line, pp_fault_names[all[i].kind], all[i].what);
    for (int k = 0; k < PP_N_FAULTS; k++)
      if (counts[k]) fs_log_warn("  %s: %" PRId64 " lines", pp_fault_names[k], counts[k]);
    free(all);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ------------------------------------------------------------------ the app */

static PetscErrorCode map_input(const char *path, char **buf, int64_t *n_bytes)
{
  void *map;
  size_t n;

  PetscFunctionBegin;
  PetscCall(fs_map_file(path, "the input", &map, &n));
  if (map) madvise(map, n, MADV_SEQUENTIAL);
  *buf = map;
  *n_bytes = (int64_t)n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_preprocess_run(MPI_Comm comm, const char *app, const char *summary)
{
  struct pp_opts o;
  struct pp_state st;
  PetscBool stop;
  int rank, size;
  char *buf = NULL;
  int64_t n_bytes = 0, begin, end, n_newlines = 0, first_line = 0, n_bad = 0;
  int64_t tot[3], loc[3];
  double t0, t_tok, t1;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(read_options(&o, &stop, comm, app, summary));
  if (stop) {
    fs_opt_free_list(&o.keys, o.n_keys);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  memset(&st, 0, sizeof st);
  st.o = &o;
  t0 = MPI_Wtime();
  PetscCall(fs_tokenizer_create_from_opts(&o.tok, &st.tok));
  st.dtype = fs_idx_dtype_for_vocab(fs_tokenizer_vocab_size(st.tok));
  st.item = fs_idx_dtype_size(st.dtype);
  FSCalloc(sizeof *st.out * (size_t)o.n_keys, &st.out);
  FSCalloc(sizeof *st.listed * ((size_t)o.max_listed + 1), &st.listed);
  PetscCall(map_input(o.input, &buf, &n_bytes));

  /* this rank's lines: byte range [begin, end) cut at line starts; line numbers continue across ranks */
  begin = fs_jsonl_line_start(buf, n_bytes, n_bytes / size * rank + n_bytes % size * rank / size);
  end = fs_jsonl_line_start(buf, n_bytes, n_bytes / size * (rank + 1) + n_bytes % size * (rank + 1) / size);
  for (const char *p = buf + begin; p < buf + end && (p = memchr(p, '\n', (size_t)(buf + end - p))); p++) n_newlines++;
  PetscCallMPI(MPI_Exscan(&n_newlines, &first_line, 1, MPI_INT64_T, MPI_SUM, comm));
  if (rank == 0) first_line = 0;
  fs_log_info("%s: %s (%.1f MB) -> %s_<key>_document.{bin,idx}, keys %s%s, %s tokenizer (vocabulary %" PRId32
              ", %s), %d ranks",
              app, o.input, (double)n_bytes / 1e6, o.prefix, o.keys[0], o.n_keys > 1 ? ",..." : "",
              o.tok.type == FS_TOKENIZER_AQUILA ? "aquila" : "gpt2bpe", fs_tokenizer_vocab_size(st.tok),
              fs_idx_dtype_name(st.dtype), size);

  t_tok = MPI_Wtime();
  PetscCall(process_range(&st, buf, begin, end, first_line + 1, size, t_tok));
  fs_unmap_file(buf, (size_t)n_bytes);
  PetscCall(report_faults(comm, &st, &n_bad));

  for (int k = 0; k < o.n_keys; k++) {
    char path[FS_OPT_STRLEN + 300];
    char idx[FS_OPT_STRLEN + 300];
    snprintf(path, sizeof path, "%s_%s_document.bin", o.prefix, o.keys[k]);
    snprintf(idx, sizeof idx, "%s_%s_document.idx", o.prefix, o.keys[k]);
    PetscErrorCode ierr = check_all(comm, write_bin(comm, path, &st.out[k]) == PETSC_SUCCESS, "writing the tokens");
    if (!ierr) ierr = write_idx(comm, idx, st.dtype, &st.out[k]);
    if (ierr) { /* no half-written pair (nor an older .idx beside a new .bin) is left to be read as a dataset */
      if (rank == 0) unlink(path), unlink(idx);
      PetscCall(ierr);
    }
  }
  t1 = MPI_Wtime();
  loc[0] = st.n_docs;
  loc[1] = st.n_tokens;
  loc[2] = 0;
  for (int k = 0; k < o.n_keys; k++) loc[2] += st.out[k].n_empty;
  PetscCallMPI(MPI_Reduce(loc, tot, 3, MPI_INT64_T, MPI_SUM, 0, comm));
  if (rank == 0) {
    fs_log_info("done: %" PRId64 " documents, %" PRId64 " tokens, %" PRId64 " bad lines skipped, %" PRId64
                " empty documents dropped",
                tot[0], tot[1], n_bad, tot[2]);
    fs_log_info("throughput: %.1f MB in %.2f s = %.2f MB/s on %d ranks (%.2f s loading the tokenizer)",
                (double)n_bytes / 1e6, t1 - t_tok, t1 > t_tok ? (double)n_bytes / 1e6 / (t1 - t_tok) : 0.0, size,
                t_tok - t0);
  }

  for (int k = 0; k < o.n_keys; k++) {
    free(st.out[k].bin);
    free(st.out[k].sizes);
  }
  free(st.out);
  free(st.listed);
  fs_tokens_free(&st.toks);
  PetscCall(fs_tokenizer_destroy(&st.tok));
  fs_opt_free_list(&o.keys, o.n_keys);
  PetscFunctionReturn(PETSC_SUCCESS);
}
