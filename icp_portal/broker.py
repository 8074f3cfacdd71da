"""Read the task messages that wait in the Celery broker's queues.

Run pages use this to tell a task that waits for a worker from one that no worker will
start, such as the next chunk that a killed worker had reserved. Only a Redis broker is
read: Kombu's Redis transport keeps each queue as a list of JSON messages, one list per
priority step. A message that a worker has reserved is in Kombu's ``unacked`` hash, not
in a queue, until the worker acknowledges it or the broker hands it on after the
visibility timeout.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Messages read per queue at most. A longer queue is not read, so that a page polled every
# few seconds does not copy a large backlog each time, and the callers then keep their
# judgment without the broker.
MAX_MESSAGES_READ = 10_000


@dataclass(frozen=True)
class QueuedMessage:
    """One task message in a broker queue: its Celery task id, task name and arguments."""

    task_id: str
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]


def _decode(raw: bytes) -> QueuedMessage | None:
    """Decode a message of Celery's task protocol 2 in JSON, or return None for another kind."""
    try:
        message = json.loads(raw)
        headers = message["headers"]
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
        return QueuedMessage(
            task_id=str(headers["id"]),
            task_name=str(headers["task"]),
            args=list(args),
            kwargs=dict(kwargs),
        )
    except (ValueError, KeyError, TypeError):
        return None


def broker_queued_messages(task_names: set[str]) -> list[QueuedMessage] | None:
    """Return the messages of ``task_names`` that wait in the broker's queues.

    Returns None when that is unknown: without a broker (tasks run eagerly), with a
    broker other than Redis, when Redis cannot be reached, or when a queue contains
    more than MAX_MESSAGES_READ messages. Messages that a worker has reserved are not
    returned, because they no longer wait in a queue.
    """
    from icp_portal.celery import app

    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_read() as connection:
            if connection.transport_cls not in ("redis", "rediss"):
                return None
            # One attempt, so that a page does not wait for retries while Redis is down.
            connection.ensure_connection(max_retries=0)
            channel = connection.default_channel
            keys = [
                channel._q_for_pri(queue, priority)
                for queue in app.amqp.queues
                for priority in channel.priority_steps
            ]
            lengths = [channel.client.llen(key) for key in keys]
            if max(lengths, default=0) > MAX_MESSAGES_READ:
                logger.info(
                    "A broker queue contains more than %s messages, so the queues were not read",
                    MAX_MESSAGES_READ,
                )
                return None
            messages = []
            for key in keys:
                for raw in channel.client.lrange(key, 0, MAX_MESSAGES_READ - 1):
                    message = _decode(raw)
                    if message is not None and message.task_name in task_names:
                        messages.append(message)
            return messages
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("Could not read the broker's queues: %s", error)
        return None
