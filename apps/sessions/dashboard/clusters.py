"""Clusters of similar unanswered questions, by their embeddings.

A question's vector is computed once (QuestionVector) by `embed_questions`, a command and a
background task, never while the dashboard renders: the page clusters the vectors it finds
and says how many questions still wait for theirs. Clustering is greedy on cosine similarity:
each question joins the most similar cluster whose centroid it is close enough to, or starts
one; newest questions first, so a cluster's first example is its latest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from apps.manuals.embeddings import EmbeddingError, get_embedder
from apps.sessions.dashboard.selectors import unanswered_questions
from apps.sessions.models import Message, QuestionVector

SIMILAR = 0.86
# The newest unanswered questions of the window that are clustered (and embedded).
CLUSTERED = 400
EMBED_BATCH = 32


@dataclass
class Cluster:
    questions: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.questions)


@dataclass(frozen=True)
class Clustering:
    clusters: list[Cluster]
    questions: int
    without_vector: int


def _vectors(ids: list[int]) -> dict[int, np.ndarray]:
    model = get_embedder().name
    rows = QuestionVector.objects.filter(message_id__in=ids, model=model).values_list(
        "message_id", "vector"
    )
    return {pk: np.frombuffer(bytes(blob), dtype=np.float32) for pk, blob in rows}


def greedy(vectors: np.ndarray, *, threshold: float = SIMILAR) -> list[list[int]]:
    """Row indexes grouped: each row joins the closest centroid at `threshold` or above."""
    centroids = np.zeros_like(vectors)
    sums = np.zeros_like(vectors)
    members: list[list[int]] = []
    for row, vector in enumerate(vectors):
        count = len(members)
        if count:
            scores = centroids[:count] @ vector
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                members[best].append(row)
                sums[best] += vector
                centroids[best] = sums[best] / np.linalg.norm(sums[best])
                continue
        centroids[count] = vector
        sums[count] = vector
        members.append([row])
    return members


def cluster_unanswered(*, start: datetime, minimum: int = 2) -> Clustering:
    questions = unanswered_questions(start=start, limit=CLUSTERED)
    try:
        found = _vectors([pk for pk, _text, _session in questions])
    except EmbeddingError:
        found = {}
    with_vector = [q for q in questions if q[0] in found]
    groups = greedy(np.stack([found[q[0]] for q in with_vector])) if with_vector else []
    clusters = [Cluster([with_vector[row] for row in group]) for group in groups]
    clusters = [c for c in clusters if c.size >= minimum]
    clusters.sort(key=lambda c: -c.size)
    return Clustering(
        clusters=clusters,
        questions=len(questions),
        without_vector=len(questions) - len(with_vector),
    )


def embed_questions(*, start: datetime, limit: int = CLUSTERED) -> int:
    """Compute and keep the vectors the clusters need; returns how many were computed."""
    embedder = get_embedder()
    questions = unanswered_questions(start=start, limit=limit)
    have = set(
        QuestionVector.objects.filter(
            message_id__in=[q[0] for q in questions], model=embedder.name
        ).values_list("message_id", flat=True)
    )
    missing = [(pk, text) for pk, text, _session in questions if pk not in have]
    # A vector of another model is of no use next to this model's: it is replaced.
    QuestionVector.objects.filter(message_id__in=[pk for pk, _text in missing]).delete()
    done = 0
    for begin in range(0, len(missing), EMBED_BATCH):
        batch = missing[begin : begin + EMBED_BATCH]
        vectors = embedder.embed_passages([text for _pk, text in batch])
        QuestionVector.objects.bulk_create(
            [
                QuestionVector(message=Message(pk=pk), model=embedder.name, vector=vector.tobytes())
                for (pk, _text), vector in zip(batch, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
        done += len(batch)
    return done
