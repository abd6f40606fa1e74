/* consumer.c -- a program built against the installed library with pkg-config (make installcheck) */
#include <stdio.h>
#include <fs_rng.h>
#include <fs_dtype.h>
#include <fs_app.h>

int main(int argc, char **argv)
{
  struct fs_rng_key k = fs_rng_key(1, "x");
  float u = fs_rng_uniform(k, 0);
  printf("installed libflagscale: uniform %g, bf16(1.0)=0x%04x\n", u, fs_fp32_to_bf16(1.0f));
  return !(u >= 0 && u < 1 && fs_fp32_to_bf16(1.0f) == 0x3f80);
}
