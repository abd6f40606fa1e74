/* fs_file.h -- a whole file memory-mapped read-only (the readers of datasets, GGUF and safetensors files) */
#ifndef FS_FILE_H
#define FS_FILE_H

#include <stddef.h>
#include "fs_error.h"

/* Maps the regular file path read-only; an empty file gives *map = NULL, *n_bytes = 0.  what names the file in
 * the messages ("the input", "GGUF file"; NULL: the path alone), e.g. "cannot open GGUF file PATH: reason". */
PetscErrorCode fs_map_file(const char *path, const char *what, void **map, size_t *n_bytes);
/* unmaps what fs_map_file mapped (map NULL: nothing to do) */
void fs_unmap_file(void *map, size_t n_bytes);

#endif
