# ruff: noqa
# fmt: off
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class OrderView(_message.Message):
    __slots__ = ("order_id", "user", "in_stock")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    user: str
    in_stock: bool
    def __init__(self, order_id: _Optional[str] = ..., user: _Optional[str] = ..., in_stock: _Optional[bool] = ...) -> None: ...
