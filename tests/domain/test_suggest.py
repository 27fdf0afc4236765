"""The category/service suggester (domain/suggest.py): naive Bayes by hand on a tiny table,
and its accuracy on the demo data by cross-validation."""

from __future__ import annotations

import functools
import itertools
import math
from datetime import UTC, datetime

import pytest

from incidenttui.demo.seed import _Seeder
from incidenttui.domain.suggest import (
    MIN_EXAMPLES,
    Example,
    NaiveBayes,
    Suggester,
    cross_validate,
)
from incidenttui.domain.words import words

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@functools.cache
def demo_examples() -> list[Example]:
    """Every incident of the demo data set (seeded in memory) but the cancelled ones."""
    numbers = itertools.count(1001)
    walks = _Seeder(NOW, 7).build(lambda series: next(numbers))
    return [Example(w.incident.title, w.incident.description, str(w.incident.category),
                    w.incident.service) for w in walks if w.incident.status != "cancelled"]


def test_naive_bayes_by_hand() -> None:
    model = NaiveBayes().fit([(["disk", "full"], "capacity"), (["disk", "slow"], "performance"),
                              (["page", "slow"], "performance")])
    # P(perf) = 2/3; P(slow|perf) = (2+1)/(4+4); P(cap) = 1/3; P(slow|cap) = (0+1)/(2+4)
    perf, cap = 2 / 3 * 3 / 8, 1 / 3 * 1 / 6
    [(first, p_first), (second, p_second)] = model.predict(["slow", "unknownword"])
    assert (first, second) == ("performance", "capacity")
    assert math.isclose(p_first, perf / (perf + cap)) and math.isclose(p_second,
                                                                         cap / (perf + cap))
    assert NaiveBayes().predict(["slow"]) == []


def test_words_drop_stopwords_numbers_and_short_words() -> None:
    assert words("The Checkout is DOWN for 42 customers: 5xx on /pay (EU)") == [
        "checkout", "down", "5xx", "pay"]


def test_too_little_history_or_no_known_word_suggests_nothing() -> None:
    few = [Example("disk full", "", "capacity", "db")] * (MIN_EXAMPLES - 1)
    assert Suggester(few).suggest("disk full") is None
    enough = few + [Example("disk full", "", "capacity", "db")]
    assert Suggester(enough).suggest("xyzzy plugh") is None
    suggestion = Suggester(enough).suggest("Disk full again")
    assert suggestion is not None and (suggestion.category, suggestion.service) == (
        "capacity", "db")


def test_accuracy_on_the_demo_data_by_cross_validation() -> None:
    examples = demo_examples()
    assert len(examples) > 250
    category, service = cross_validate(examples, folds=5)
    # Far above always guessing the commonest label; the demo's titles come from
    # templates, so real data will score lower than this.
    commonest = max(sum(e.category == c for e in examples) for c in {e.category
                                                                      for e in examples})
    assert category > 0.85 > commonest / len(examples)
    assert service > 0.9
    print(f"demo cross-validation: category {category:.1%}, service {service:.1%}")


@pytest.mark.parametrize(("title", "category", "service"), [
    ("Gift card balance wrong at checkout", "software_bug", "checkout"),
    ("CDN errors in eu-west", "network", "cdn"),
    ("Price import failed for 200 SKUs", "data", "catalog"),
])
def test_suggestions_on_the_demo_data(title: str, category: str, service: str) -> None:
    suggestion = Suggester(demo_examples()).suggest(title)
    assert suggestion is not None
    assert (suggestion.category, suggestion.service) == (category, service)
