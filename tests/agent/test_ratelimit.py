"""The rate limiter's table of buckets stays bounded however many origins a page makes up."""

from __future__ import annotations

from edge_agent.ratelimit import RateLimiter


def test_made_up_origins_do_not_grow_the_table_without_bound() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=2, max_keys=100)
    for n in range(10_000):
        assert limiter.allow(f"https://{n}.evil.example", now=n * 0.001) == 0.0
    assert len(limiter) <= 100


def test_a_busy_origin_keeps_its_empty_bucket_while_others_come_and_go() -> None:
    limiter = RateLimiter(rate_per_s=0.01, burst=2, max_keys=10)
    assert limiter.allow("https://busy.example", now=0) == 0.0
    assert limiter.allow("https://busy.example", now=0) == 0.0
    for n in range(50):
        limiter.allow(f"https://{n}.example", now=1)
        limiter.allow("https://busy.example", now=1)  # still refused, and still remembered
    assert limiter.allow("https://busy.example", now=2) > 0
