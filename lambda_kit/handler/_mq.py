"""Amazon MQ: ActiveMQ and RabbitMQ brokers (internal).

Lambda polls the broker and delivers a batch:

* ActiveMQ (``"eventSource": "aws:mq"``): ``messages``, each with ``messageID``,
  ``destination.physicalName`` (the queue), base64 ``data``, ``properties``,
  ``redelivered`` and JMS fields;
* RabbitMQ (``"eventSource": "aws:rmq"``): ``rmqMessagesByQueue``, keyed
  ``"queue::virtual-host"``, each message with base64 ``data``, ``redelivered`` and
  ``basicProperties`` (``messageId``, ``contentType``, ``headers`` whose text values
  come as ``{"bytes": [...]}``).

The core is called once per message, in the order delivered: an :class:`MQMessage`
parameter takes the message decoded (``data`` as bytes, properties or headers, queue,
id); any other annotation takes the data parsed into its type (``bytes`` raw, ``str``
text, anything else JSON). Amazon MQ has no partial batch response: the first message
that cannot be parsed, or whose call raises, is logged with its id and re-raised, so
that Lambda hands the whole batch back to the broker for redelivery (process
idempotently: messages before the failure come again).
"""

from __future__ import annotations

import base64
import binascii

from lambda_kit.exceptions import EventShapeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MQMessage", "mq", "mq_messages"]


class MQMessage:
    """One Amazon MQ message, decoded: what a core annotated ``MQMessage`` receives.

    Attributes:
        broker: ``"activemq"`` or ``"rabbitmq"``.
        message_id: ActiveMQ's ``messageID``, RabbitMQ's ``basicProperties.messageId`` (may be ``None``).
        queue: The ActiveMQ destination, or the RabbitMQ queue name.
        virtual_host: The RabbitMQ virtual host (``None`` for ActiveMQ).
        data: The message body.
        properties: ActiveMQ's ``properties``, or RabbitMQ's ``headers`` (byte arrays as ``bytes``).
        content_type: RabbitMQ's ``contentType`` (ActiveMQ gives ``messageType``, ``jms/text-message``).
        redelivered: Whether the broker delivered it before.
        timestamp: ActiveMQ's epoch milliseconds, RabbitMQ's text as sent.
    """

    __slots__ = (
        "broker",
        "content_type",
        "data",
        "message_id",
        "properties",
        "queue",
        "redelivered",
        "timestamp",
        "virtual_host",
    )

    def __init__(
        self,
        *,
        broker: str,
        message_id: str | None,
        queue: str | None,
        virtual_host: str | None,
        data: bytes,
        properties: dict[str, Any],
        content_type: str | None,
        redelivered: bool,
        timestamp: Any,
    ) -> None:
        self.broker = broker
        self.message_id = message_id
        self.queue = queue
        self.virtual_host = virtual_host
        self.data = data
        self.properties = properties
        self.content_type = content_type
        self.redelivered = redelivered
        self.timestamp = timestamp

    def __repr__(self) -> str:  # no data: messages can hold personal data
        return f"MQMessage({self.broker} {self.queue} {self.message_id})"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _data(message: dict[str, Any]) -> bytes:
    data = message.get("data")
    if data is None:
        return b""
    if not isinstance(data, str):
        raise EventShapeError("Amazon MQ message data must be base64 text.", field="data")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise EventShapeError("Amazon MQ message data is not valid base64.", field="data") from None


def _header_value(value: Any) -> Any:
    """RabbitMQ headers: text arrives as ``{"bytes": [118, 97, ...]}``; numbers as they are."""
    if isinstance(value, dict) and set(value) == {"bytes"} and isinstance(value["bytes"], list):
        try:
            return bytes(byte & 0xFF for byte in value["bytes"])
        except TypeError:
            raise EventShapeError("RabbitMQ header bytes must be integers.", field="headers") from None
    return value


def _activemq(message: Any) -> MQMessage:
    if not isinstance(message, dict):
        raise EventShapeError("An ActiveMQ message must be an object.", source="Amazon MQ")
    destination = message.get("destination")
    properties = message.get("properties")
    return MQMessage(
        broker="activemq",
        message_id=_text(message.get("messageID")),
        queue=_text(destination.get("physicalName")) if isinstance(destination, dict) else None,
        virtual_host=None,
        data=_data(message),
        properties=dict(properties) if isinstance(properties, dict) else {},
        content_type=_text(message.get("messageType")),
        redelivered=message.get("redelivered") is True,
        timestamp=message.get("timestamp"),
    )


def _rabbitmq(message: Any, queue: str, virtual_host: str | None) -> MQMessage:
    if not isinstance(message, dict):
        raise EventShapeError("A RabbitMQ message must be an object.", source="Amazon MQ")
    basic = message.get("basicProperties")
    basic = basic if isinstance(basic, dict) else {}
    headers = basic.get("headers")
    return MQMessage(
        broker="rabbitmq",
        message_id=_text(basic.get("messageId")),
        queue=queue,
        virtual_host=virtual_host,
        data=_data(message),
        properties={str(k): _header_value(v) for k, v in headers.items()}
        if isinstance(headers, dict)
        else {},
        content_type=_text(basic.get("contentType")),
        redelivered=message.get("redelivered") is True,
        timestamp=basic.get("timestamp"),
    )


def mq_messages(event: Any) -> list[tuple[str | None, Any]]:
    """Each message's id and a thunk giving the :class:`MQMessage` (parsed when its turn comes).

    Raises:
        EventShapeError: The event is neither an ActiveMQ nor a RabbitMQ batch.
    """
    source = event.get("eventSource") if isinstance(event, dict) else None
    if source == "aws:mq" and isinstance(event.get("messages"), list):
        return [(_peek_id(m, "messageID"), _Pending(_activemq, m)) for m in event["messages"]]
    if source == "aws:rmq" and isinstance(event.get("rmqMessagesByQueue"), dict):
        items: list[tuple[str | None, Any]] = []
        for key, messages in event["rmqMessagesByQueue"].items():
            if not isinstance(messages, list):
                raise EventShapeError(
                    "RabbitMQ 'rmqMessagesByQueue' values must be lists.", source="Amazon MQ"
                )
            queue, _, virtual_host = str(key).partition("::")
            for message in messages:
                basic = message.get("basicProperties") if isinstance(message, dict) else None
                shown = _peek_id(basic, "messageId") or f"{queue}[{len(items)}]"
                items.append((shown, _Pending(_rabbitmq, message, queue, virtual_host or None)))
        return items
    raise EventShapeError(
        "Not an Amazon MQ event: expected eventSource aws:mq with 'messages' or aws:rmq with "
        "'rmqMessagesByQueue'.",
        source="Amazon MQ",
    )


def _peek_id(mapping: Any, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) and value else None


class _Pending:
    """A message decoded only when the core's turn comes (a bad one fails there, logged with its id)."""

    __slots__ = ("args", "parse")

    def __init__(self, parse: Any, *args: Any) -> None:
        self.parse = parse
        self.args = args

    def __call__(self) -> MQMessage:
        message: MQMessage = self.parse(*self.args)
        return message


def mq(core: Callable[..., Any]) -> Callable[[Any, Any], None]:
    """Build the handler of Amazon MQ batches (see the module docstring)."""
    from lambda_kit.handler._batch import event_handler
    from lambda_kit.handler._coerce import converter_for
    from lambda_kit.handler._core import core_parameter_type

    tp = core_parameter_type(core)
    if tp is MQMessage:

        def convert(pending: Any) -> Any:
            return pending()

    else:
        parse = converter_for(tp)

        def convert(pending: Any) -> Any:
            return parse(pending().data)

    return event_handler(core, kind="Amazon MQ", payloads=mq_messages, convert=convert)
