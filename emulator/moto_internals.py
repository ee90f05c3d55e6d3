"""The one module that reaches into moto's internals, each time with a safe fallback.

1. Clearing the demo's CloudWatch namespace before a re-seed in the same process (CloudWatch
   has no API to delete data points, and a second seed would double every sum).
2. Two speed-ups for moto's SQS, for the queues the emulator marks, nowhere else.

moto 5.2.5 recomputes a queue's three approximate message counts (a scan of every message,
with a clock read per message) on every SendMessage and every received message, through
``Queue.attributes``: filling a queue is quadratic, and delivering the demo's 3,000 SNS
notifications took over a minute. SQS documents these counts as approximate and eventually
consistent, so for a marked queue we cache them for half a second. And the list of visible
messages is computed with one clock read instead of two per message (same result, taken at
one instant). Unmarked queues (including any a ``mock_aws`` test in the same process
creates) keep moto's behaviour. If moto's internals change shape, nothing is patched: the
emulator stays correct, only slower.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

TTL_SECONDS = 0.5
_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)
_MARK = "_bouncedesk_cached_counts"


def clear_metrics(account_id: str, region: str, namespace: str) -> bool:
    """Drop every data point of ``namespace``; False if moto's backend has changed shape."""
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[account_id][region]
    data = getattr(backend, "metric_data", None)
    if not isinstance(data, list):
        return False
    backend.metric_data = [d for d in data if getattr(d, "namespace", None) != namespace]
    return True


def mark_queue(account_id: str, region: str, name: str) -> bool:
    """Cache the approximate counts of one moto queue; False if moto could not be tuned."""
    if not _install():
        return False
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account_id][region].queues.get(name)
    if queue is None:
        return False
    setattr(queue, _MARK, {})
    return True


def _install() -> bool:
    from moto.sqs.models import Queue

    if getattr(Queue, "_bouncedesk_tuned", False):
        return True
    originals = [getattr(Queue, name, None) for name in _COUNTS]
    if not all(isinstance(p, property) and p.fget for p in originals):
        return False
    messages = getattr(Queue, "messages", None)
    if not isinstance(messages, property) or messages.fget is None:
        return False
    for name, original in zip(_COUNTS, originals, strict=True):
        assert isinstance(original, property) and original.fget is not None
        setattr(Queue, name, property(_cached(name, original.fget)))
    # Patching moto's class in place is the point here; its stubs say it cannot be done.
    Queue.messages = property(_visible(messages.fget))  # type: ignore[method-assign,assignment]
    Queue._bouncedesk_tuned = True  # type: ignore[attr-defined]
    return True


def _visible(compute: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    from moto.core.utils import unix_time_millis

    def messages(queue: Any) -> list[Any]:
        if _MARK not in queue.__dict__:
            return compute(queue)
        now = unix_time_millis()
        try:
            return [m for m in queue._messages if m.visible_at < now and now >= m.delayed_until]
        except AttributeError:  # moto changed its Message: fall back to moto's own rule
            return compute(queue)

    return messages


def _cached(name: str, compute: Callable[[Any], int]) -> Callable[[Any], int]:
    def count(queue: Any) -> int:
        cache = queue.__dict__.get(_MARK)
        if cache is None:
            return compute(queue)
        now = time.monotonic()
        stamp, value = cache.get(name, (0.0, 0))
        if now - stamp > TTL_SECONDS:
            value = compute(queue)
            cache[name] = (now, value)
        return value

    return count
