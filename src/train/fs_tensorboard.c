/* fs_tensorboard.c -- TFRecord + Event protobuf encoding by hand */
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fs_tensorboard.h"

uint32_t fs_crc32c(const void *data, size_t n)
{
  static uint32_t table[256];
  static int ready;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    ready = 1;
  }
  uint32_t crc = 0xffffffffu;
  for (const unsigned char *p = data; n--; p++) crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

static uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static size_t put_varint(unsigned char *b, uint64_t v)
{
  size_t n = 0;
  do {
    b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return n;
}

static PetscErrorCode write_record(struct fs_tb_writer *w, const unsigned char *data, uint64_t n)
{
  unsigned char head[12];
  PetscFunctionBegin;
  memcpy(head, &n, 8); /* little-endian hosts only (x86-64, aarch64) */
  uint32_t c = masked(fs_crc32c(head, 8));
  memcpy(head + 8, &c, 4);
  uint32_t cd = masked(fs_crc32c(data, n));
  FSCheck(fwrite(head, 1, 12, w->f) == 12 && fwrite(data, 1, n, w->f) == n && fwrite(&cd, 1, 4, w->f) == 4,
          PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write TensorBoard events to %s", w->path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Event { double wall_time = 1; int64 step = 2; string file_version = 3 | Summary summary = 5 } */
static size_t event_head(unsigned char *b, int64_t step)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double wall = (double)ts.tv_sec + 1e-9 * ts.tv_nsec;
  size_t n = 0;
  b[n++] = 0x09;
  memcpy(b + n, &wall, 8);
  n += 8;
  b[n++] = 0x10;
  n += put_varint(b + n, (uint64_t)step);
  return n;
}

PetscErrorCode fs_tb_open(const char *dir, struct fs_tb_writer **out)
{
  struct fs_tb_writer *w;
  char host[256] = "localhost";
  unsigned char b[128];

  PetscFunctionBegin;
  if (mkdir(dir, 0755) && errno != EEXIST) FSCallSys(-1, dir);
  FSCalloc(sizeof *w, &w);
  gethostname(host, sizeof host - 1);
  snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s", dir, (long)time(NULL), host);
  w->f = fopen(w->path, "wb");
  if (!w->f) {
    free(w);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", dir, strerror(errno));
  }
  size_t n = event_head(b, 0);
  const char *version = "brain.Event:2";
  b[n++] = 0x1a;
  b[n++] = (unsigned char)strlen(version);
  memcpy(b + n, version, strlen(version));
  n += strlen(version);
  PetscCall(write_record(w, b, n));
  *out = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Summary { repeated Value value = 1 }  Value { string tag = 1; float simple_value = 2 } */
PetscErrorCode fs_tb_scalar(struct fs_tb_writer *w, const char *tag, double value, int64_t step)
{
  unsigned char b[512], v[320], s[330];
  size_t tl = strlen(tag), nv = 0, ns = 0;
  float f = (float)value;

  PetscFunctionBegin;
  FSCheck(tl < 256, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "tag too long: %s", tag);
  v[nv++] = 0x0a;
  nv += put_varint(v + nv, tl);
  memcpy(v + nv, tag, tl);
  nv += tl;
  v[nv++] = 0x15;
  memcpy(v + nv, &f, 4);
  nv += 4;
  s[ns++] = 0x0a;
  ns += put_varint(s + ns, nv);
  memcpy(s + ns, v, nv);
  ns += nv;
  size_t n = event_head(b, step);
  b[n++] = 0x2a;
  n += put_varint(b + n, ns);
  memcpy(b + n, s, ns);
  n += ns;
  PetscCall(write_record(w, b, n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tb_flush(struct fs_tb_writer *w)
{
  PetscFunctionBegin;
  FSCheck(fflush(w->f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot flush %s", w->path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_tb_close(struct fs_tb_writer **w)
{
  PetscFunctionBegin;
  if (*w) {
    FSCheck(fclose((*w)->f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot close %s", (*w)->path);
    FSFree(w);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
