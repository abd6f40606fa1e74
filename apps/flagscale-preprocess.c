/* flagscale-preprocess -- jsonl -> Megatron indexed dataset (the logic is in src/data/fs_preprocess.c) */
#include "fs_app.h"
#include "fs_preprocess.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-preprocess",
                     "tokenizes a jsonl corpus into Megatron indexed datasets PREFIX_<key>_document.bin/.idx "
                     "(run under mpirun to split the work; the output is the same for any number of ranks)",
                     fs_preprocess_run);
}
