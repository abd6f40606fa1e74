/* flagscale-finetune -- supervised fine-tuning of a checkpoint on jsonl conversations (loss on assistant turns) */
#include "fs_app.h"
#include "fs_finetune.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-finetune",
                     "supervised fine-tuning of a checkpoint on jsonl conversations: loss on the assistant turns only "
                     "(MPI data and tensor parallel)",
                     fs_finetune_run);
}
