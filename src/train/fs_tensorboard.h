/* fs_tensorboard.h -- scalar summaries in TensorBoard's event-file format (what Megatron's -tensorboard_dir
 * writes): TFRecord framing (length, masked CRC32C, Event protobuf, masked CRC32C), written without TensorFlow
 * or protobuf libraries.  Files: DIR/events.out.tfevents.<seconds>.<host>. */
#ifndef FS_TENSORBOARD_H
#define FS_TENSORBOARD_H

#include <stdint.h>
#include <stdio.h>
#include "fs_error.h"

struct fs_tb_writer {
  FILE *f;
  char path[4096];
};

PetscErrorCode fs_tb_open(const char *dir, struct fs_tb_writer **w);
PetscErrorCode fs_tb_scalar(struct fs_tb_writer *w, const char *tag, double value, int64_t step);
PetscErrorCode fs_tb_flush(struct fs_tb_writer *w);
PetscErrorCode fs_tb_close(struct fs_tb_writer **w);
uint32_t fs_crc32c(const void *data, size_t n_bytes); /* Castagnoli CRC, as TFRecord uses */

#endif
