/* fs_indexed.h -- Megatron's indexed dataset ("mmap" impl): PREFIX.bin holds the token arrays concatenated,
 * PREFIX.idx the index (little-endian): magic "MMIDIDX\0\0", u64 version 1, u8 dtype code, u64 n_seqs,
 * u64 n_docs_idx, int32 sizes[n_seqs], int64 pointers[n_seqs] (byte offsets into .bin), int64 doc_idx[n_docs_idx]
 * (starts with 0; each document end appends the current number of sequences).  Written byte-exactly. */
#ifndef FS_INDEXED_H
#define FS_INDEXED_H

#include <stdint.h>
#include "fs_error.h"

/* Megatron dtype codes */
enum fs_idx_dtype { FS_IDX_U8 = 1, FS_IDX_I8 = 2, FS_IDX_I16 = 3, FS_IDX_I32 = 4, FS_IDX_I64 = 5, FS_IDX_F64 = 6,
                    FS_IDX_F32 = 7, FS_IDX_U16 = 8 };
int fs_idx_dtype_size(int code); /* bytes per element, 0 for an unknown code */
/* uint16 when the vocabulary fits (< 65500), else int32 -- Megatron's rule */
enum fs_idx_dtype fs_idx_dtype_for_vocab(int64_t vocab_size);
const char *fs_idx_dtype_name(int code); /* "uint16" ..., "unknown" */
/* ids -> n elements of dtype at out (n * fs_idx_dtype_size bytes); an id the dtype cannot hold is an error */
PetscErrorCode fs_idx_pack(int dtype, const int32_t *ids, int64_t n, void *out);

#define FS_IDX_MAGIC_BYTES 9
#define FS_IDX_HEADER_BYTES 34 /* magic 9 + version 8 + dtype 1 + n_seqs 8 + n_doc_idx 8 */

/* reader: both files memory-mapped and validated (magic, version, dtype, sizes against file lengths) */
struct fs_indexed {
  int dtype;               /* enum fs_idx_dtype */
  int64_t n_seqs;          /* sequences */
  int64_t n_doc_idx;       /* entries of doc_idx (documents + 1) */
  const int32_t *sizes;    /* (n_seqs) tokens per sequence */
  const int64_t *pointers; /* (n_seqs) byte offset of each sequence in .bin */
  const int64_t *doc_idx;  /* (n_doc_idx) */
  const void *bin;         /* mapped .bin */
  int64_t bin_bytes;
  void *idx_map, *bin_map; /* the mappings */
  int64_t idx_map_bytes, bin_map_bytes;
  void *index_copy;        /* sizes/pointers/doc_idx copied aligned: in the file they start at byte 34 */
};
/* opens PREFIX.idx + PREFIX.bin; a corrupt or truncated pair is a clear error naming the file and the fault */
PetscErrorCode fs_indexed_open(const char *prefix, struct fs_indexed **ds);
PetscErrorCode fs_indexed_close(struct fs_indexed **ds);
/* tokens [offset, offset + n) of sequence i, converted to int32 */
PetscErrorCode fs_indexed_get(const struct fs_indexed *ds, int64_t i, int64_t offset, int64_t n, int32_t *out);

/* writer: sequences and document ends are added in order; finish writes the .idx */
struct fs_indexed_writer;
PetscErrorCode fs_indexed_writer_create(const char *prefix, int dtype, struct fs_indexed_writer **w);
PetscErrorCode fs_indexed_writer_add(struct fs_indexed_writer *w, const int32_t *ids, int64_t n); /* one sequence */
PetscErrorCode fs_indexed_writer_end_document(struct fs_indexed_writer *w);
PetscErrorCode fs_indexed_writer_finish(struct fs_indexed_writer **w); /* writes PREFIX.idx, closes, frees */
PetscErrorCode fs_indexed_writer_destroy(struct fs_indexed_writer **w); /* abandons a writer (error paths) */

/* writes a whole .idx at idx_path from the sizes (pointers follow from them) and doc_idx; used by the writer
 * and by parallel writers that wrote the .bin themselves (flagscale-preprocess with MPI-IO) */
PetscErrorCode fs_indexed_write_index(const char *idx_path, int dtype, const int32_t *sizes, int64_t n_seqs,
                                      const int64_t *doc_idx, int64_t n_doc_idx);

#endif
