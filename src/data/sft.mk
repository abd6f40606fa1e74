# src/data: supervised fine-tuning datasets (fs_sft*.h)
