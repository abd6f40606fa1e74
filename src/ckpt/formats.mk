# src/ckpt: Hugging Face safetensors and GGUF (fs_safetensors.h, fs_gguf.h)
