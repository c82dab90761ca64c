"""stream_processors: the processor's stages and its batch runner; see docs/architecture.md."""
