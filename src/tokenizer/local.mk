# src/tokenizer
