/* fs_md5.h -- MD5 (RFC 1321), only to name index caches as Megatron does: md5(description).hexdigest().
 * Not for anything that needs a secure hash. */
#ifndef FS_MD5_H
#define FS_MD5_H

#include <stddef.h>
#include <stdint.h>

struct fs_md5 {
  uint32_t h[4];       /* running digest */
  uint64_t n_bytes;    /* bytes hashed so far */
  unsigned char buf[64];
};

void fs_md5_init(struct fs_md5 *c);
void fs_md5_update(struct fs_md5 *c, const void *data, size_t n_bytes);
void fs_md5_final(unsigned char digest[16], struct fs_md5 *c);
/* one call: 32 lowercase hex digits + NUL */
void fs_md5_hex(char hex[33], const void *data, size_t n_bytes);

#endif
