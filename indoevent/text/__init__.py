"""Text: the one word tokenizer, sentences, and IOB2 tags over words (imports only the core)."""
