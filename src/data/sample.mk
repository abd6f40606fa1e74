# src/data: GPT sample index, blending (see fs_gpt_dataset.h)
