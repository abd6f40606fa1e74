/* flagscale-pretrain -- pretrain a LLaMA/Aquila (or GPT-2-structured) model on Megatron datasets */
#include "fs_app.h"
#include "fs_pretrain.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-pretrain",
                     "pretrain a LLaMA/Aquila or GPT-2-style decoder on Megatron .bin/.idx data (MPI data parallel)",
                     fs_pretrain_run);
}
