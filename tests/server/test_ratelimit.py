"""Failed authentications from one address are limited, with a frozen clock."""

from __future__ import annotations

import threading

import pytest

from incidenttui.server.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_limit_is_reached_on_the_nth_failure(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=3, window=60, clock=clock)
    assert limiter.retry_after("10.0.0.1") is None
    assert limiter.failed("10.0.0.1") is None
    clock.now += 10
    assert limiter.failed("10.0.0.1") is None
    clock.now += 10
    assert limiter.failed("10.0.0.1") == 40  # the first failure leaves the window at +60
    assert limiter.retry_after("10.0.0.1") == 40
    assert limiter.retry_after("10.0.0.2") is None  # per address


def test_the_window_slides(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=2, window=60, clock=clock)
    limiter.failed("a")
    clock.now += 30
    assert limiter.failed("a") == 30
    clock.now += 29.5
    assert limiter.retry_after("a") == 1  # never 0: Retry-After is at least a second
    clock.now += 0.5
    assert limiter.retry_after("a") is None  # one more try...
    assert limiter.failed("a") == 30  # ...and refused again until the second one expires
    clock.now += 100
    assert limiter.retry_after("a") is None
    assert len(limiter) == 0  # expired addresses are forgotten


def test_memory_is_bounded(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=1, window=60, max_addresses=100, clock=clock)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.retry_after("10.0.3.231") == 60  # the newest are kept
    assert limiter.retry_after("10.0.0.0") is None


def test_threads_count_every_failure(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=400, window=60, clock=clock)

    def fail() -> None:
        for _ in range(100):
            limiter.failed("x")

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.retry_after("x") == 60


@pytest.mark.parametrize("kwargs", [{"max_failures": 0}, {"window": 0},
                                    {"max_addresses": 0}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FailureLimiter(**kwargs)  # type: ignore[arg-type]
