"""ollama_async: an asyncio-first client for the Ollama server."""
