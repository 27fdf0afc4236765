"""A suggested category and service for a new incident, learned from past incidents.

A multinomial naive Bayes classifier over the words of the title and description
(:func:`incidenttui.domain.words.words`), with add-one (Laplace) smoothing, pure Python: it
trains on a few thousand incidents in milliseconds, needs no network and no download, and
the user accepts or changes what it suggests. :func:`cross_validate` measures it.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from incidenttui.domain.words import words

#: Below this many training incidents nothing is suggested (a guess, not a suggestion).
MIN_EXAMPLES = 20


class NaiveBayes:
    """Multinomial naive Bayes: P(label | words) ∝ P(label) · Π P(word | label)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self.docs: Counter[str] = Counter()
        self.counts: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()
        self.vocabulary: set[str] = set()

    def fit(self, examples: Iterable[tuple[Sequence[str], str]]) -> NaiveBayes:
        """Learn from (words, label) pairs; returns itself."""
        for tokens, label in examples:
            self.docs[label] += 1
            counts = self.counts.setdefault(label, Counter())
            counts.update(tokens)
            self.totals[label] += len(tokens)
            self.vocabulary.update(tokens)
        return self

    @property
    def size(self) -> int:
        return sum(self.docs.values())

    def predict(self, tokens: Sequence[str]) -> list[tuple[str, float]]:
        """Every label with its probability, the most likely first (empty if untrained).
        Words never seen in training say nothing and are skipped."""
        if not self.docs:
            return []
        known = [t for t in tokens if t in self.vocabulary]
        vocabulary = len(self.vocabulary)
        total = self.size
        scores: dict[str, float] = {}
        for label, docs in self.docs.items():
            counts, denominator = self.counts[label], self.totals[label] + self.alpha * vocabulary
            score = math.log(docs / total)
            for token in known:
                score += math.log((counts[token] + self.alpha) / denominator)
            scores[label] = score
        top = max(scores.values())
        weights = {label: math.exp(s - top) for label, s in scores.items()}
        norm = sum(weights.values())
        return sorted(((label, w / norm) for label, w in weights.items()),
                      key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Suggestion:
    """What to propose for a new incident, and how sure the model is (0–1)."""

    category: str
    category_p: float
    service: str
    service_p: float
    examples: int


@dataclass(frozen=True)
class Example:
    """A past incident as the model learns from it."""

    title: str
    description: str
    category: str
    service: str

    @property
    def tokens(self) -> list[str]:
        # The title counts twice: it is what a responder writes first and says most.
        return words(self.title) * 2 + words(self.description)


class Suggester:
    """A category model and a service model trained on the same past incidents."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = len(examples)
        tokens = [e.tokens for e in examples]
        self.category = NaiveBayes().fit(zip(tokens, (e.category for e in examples),
                                             strict=True))
        self.service = NaiveBayes().fit(zip(tokens, (e.service for e in examples),
                                            strict=True))

    def suggest(self, title: str, description: str = "") -> Suggestion | None:
        """The likeliest category and service for this text; None when there is too little
        history or the text has no word the model knows."""
        if self.examples < MIN_EXAMPLES:
            return None
        tokens = Example(title, description, "", "").tokens
        if not any(t in self.category.vocabulary for t in tokens):
            return None
        (category, category_p), *_ = self.category.predict(tokens)
        (service, service_p), *_ = self.service.predict(tokens)
        return Suggestion(category, category_p, service, service_p, self.examples)


def cross_validate(examples: Sequence[Example], folds: int = 5, seed: int = 0
                   ) -> tuple[float, float]:
    """``folds``-fold cross-validated accuracy (category, service): each incident is
    predicted by a model that never saw it. The split is shuffled with ``seed``."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    right = Counter[str]()
    for fold in range(folds):
        test = set(order[fold::folds])
        model = Suggester([e for i, e in enumerate(examples) if i not in test])
        for i in test:
            tokens = examples[i].tokens
            category = model.category.predict(tokens)
            service = model.service.predict(tokens)
            right["category"] += bool(category) and category[0][0] == examples[i].category
            right["service"] += bool(service) and service[0][0] == examples[i].service
    n = len(examples) or 1
    return right["category"] / n, right["service"] / n
