/* flagscale-convert -- checkpoints <-> Hugging Face folders (safetensors) */
#include "fs_app.h"
#include "fs_convert.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-convert",
                     "convert model checkpoints between flagscale (HDF5) and Hugging Face LLaMA (safetensors)",
                     fs_convert_run);
}
