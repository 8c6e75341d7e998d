"""The support brain: multilingual hybrid search over the FAQ (and later bugs and the
changelog), offline. ``service.search`` is the one search; ``index`` stores documents."""
