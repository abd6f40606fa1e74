/* fs_dtype.h -- element types and bf16/fp16 <-> fp32 conversion (round to nearest even, NaN kept quiet) */
#ifndef FS_DTYPE_H
#define FS_DTYPE_H

#include <stddef.h>
#include <stdint.h>

enum fs_dtype { FS_DTYPE_F32 = 0, FS_DTYPE_BF16, FS_DTYPE_F16, FS_DTYPE_I32, FS_DTYPE_I64, FS_DTYPE_U16,
                FS_DTYPE_U8, FS_DTYPE_COUNT };

size_t fs_dtype_size(enum fs_dtype t);      /* bytes per element */
const char *fs_dtype_name(enum fs_dtype t); /* "f32", "bf16", ... */

uint16_t fs_fp32_to_bf16(float x);
float fs_bf16_to_fp32(uint16_t h);
uint16_t fs_fp32_to_fp16(float x);
float fs_fp16_to_fp32(uint16_t h);
void fs_convert_fp32_to_bf16(uint16_t *out, const float *in, int64_t n);
void fs_convert_bf16_to_fp32(float *out, const uint16_t *in, int64_t n);
void fs_convert_fp32_to_fp16(uint16_t *out, const float *in, int64_t n);
void fs_convert_fp16_to_fp32(float *out, const uint16_t *in, int64_t n);

#endif
