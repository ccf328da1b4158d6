"""Answer engines: extractive (the default, in-process) and an OpenAI-compatible LLM."""
