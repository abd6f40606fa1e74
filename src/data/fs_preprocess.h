/* fs_preprocess.h -- flagscale-preprocess: jsonl -> Megatron indexed datasets PREFIX_<key>_document.bin/.idx,
 * one per json key, each document one sequence (Megatron's preprocess_data.py without sentence splitting).
 *
 * Under MPI the ranks split the input into byte ranges aligned to line starts, tokenize their share, and write
 * their part of each .bin at its offset (MPI_Exscan of the byte counts, MPI-IO); rank 0 writes the .idx from the
 * gathered sizes.  The output is byte-identical for any number of ranks.  Bad lines (malformed JSON, not an
 * object, missing key, non-string value, invalid UTF-8) are skipped and reported with their line numbers, or
 * stop the job (-on_error fail); blank lines are skipped silently; documents with no tokens are skipped (as
 * Megatron does). */
#ifndef FS_PREPROCESS_H
#define FS_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_error.h"

/* the app (an fs_app_run_fn): reads its options, calls fs_opt_finish, then preprocesses */
PetscErrorCode fs_preprocess_run(MPI_Comm comm, const char *app, const char *summary);

/* byte offset of the first line starting at or after pos in buf[0..n) (n when none): how ranks split the input */
int64_t fs_jsonl_line_start(const char *buf, int64_t n, int64_t pos);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF, as Python decodes);
 * else 0 and *bad_at = offset of the first bad byte */
int fs_utf8_valid(const char *s, size_t n, size_t *bad_at);

#endif
