/* flagscale-infer -- generate text (or score prompts) with a checkpoint of flagscale-pretrain */
#include "fs_app.h"
#include "fs_infer_app.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-infer",
                     "generate text with a flagscale-pretrain checkpoint: continuous batching over a paged KV "
                     "cache, greedy/top-p/top-k/temperature sampling, prompt scoring (CPU; under mpirun the model is "
                     "split tensor-parallel over the ranks)",
                     fs_infer_run);
}
