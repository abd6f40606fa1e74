# src/infer: KV cache, sampler, generation engine
