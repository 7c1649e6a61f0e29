"""Errors raised by the SDK, with the hub's field violations decoded from the gRPC status details."""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class FieldViolation(NamedTuple):
    """One offending field of a request (``items[0].signal.value``) and why it was rejected."""

    field: str
    description: str


class TokenError(Exception):
    """The token endpoint refused the credentials or could not be reached.

    ``transient`` tells a failure worth another try (the endpoint unreachable or failing, as while the hub
    restarts) from a refusal (``invalid_client``: wrong credentials) that no retry mends.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description

    @property
    def transient(self) -> bool:
        # RFC 6749 section 5.2 has no "try later" code for the token endpoint; an answer without an OAuth2 error body
        # is "http_<status>", and a 5xx there (or "temporarily_unavailable", which some servers send) is the
        # server's trouble, not the credentials'.
        return (self.error in ("unreachable", "temporarily_unavailable")
                or (self.error.startswith("http_5") and self.error[5:].isdigit()))


class HubError(Exception):
    """A call the hub answered with an error status.

    ``field_violations`` lists the offending fields of an ``INVALID_ARGUMENT`` answer, decoded from the
    ``google.rpc.BadRequest`` the hub puts in the ``grpc-status-details-bin`` trailer.
    """

    def __init__(self, code: grpc.StatusCode, details: str, field_violations: Sequence[FieldViolation] = (),
                 retry_after: Optional[float] = None) -> None:
        text = f"{code.name}: {details}"
        if field_violations:
            text += " (" + "; ".join(f"{v.field}: {v.description}" for v in field_violations) + ")"
        super().__init__(text)
        self.code = code
        self.details = details
        self.field_violations: List[FieldViolation] = list(field_violations)
        self.retry_after = retry_after

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "HubError":
        trailers = _trailers(error)
        pushback = trailers.get("grpc-retry-pushback-ms")
        return cls(
            error.code(),  # type: ignore[attr-defined]
            error.details() or "",  # type: ignore[attr-defined]
            decode_field_violations(trailers.get(_STATUS_DETAILS_KEY)),
            float(pushback) / 1000 if isinstance(pushback, str) and pushback.isdigit() else None,
        )


def _trailers(error: grpc.RpcError) -> dict:
    trailing = getattr(error, "trailing_metadata", None)
    pairs: Sequence[Tuple[str, object]] = (trailing() if callable(trailing) else None) or ()
    return {key: value for key, value in pairs}


def decode_field_violations(details: object) -> List[FieldViolation]:
    """Decodes the field violations of a ``google.rpc.Status`` (serialized), or returns [] when there are none."""
    if not isinstance(details, bytes) or not details:
        return []
    status = _STATUS()
    status.ParseFromString(details)
    violations: List[FieldViolation] = []
    for detail in status.details:
        if detail.type_url == _BAD_REQUEST_TYPE:
            bad_request = _BAD_REQUEST()
            bad_request.ParseFromString(detail.value)
            violations.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return violations


def _rpc_status_types():
    """Message classes wire-compatible with google.rpc.Status and google.rpc.BadRequest.

    Built from descriptors at import, in a private pool: the SDK needs no googleapis package (Debian has none
    for Python), and a googleapis package a member's program loads cannot clash with these names.
    """
    file = descriptor_pb2.FileDescriptorProto(name="hashhub_sdk/rpc_status.proto", package="hashhub_sdk.rpc",
                                              syntax="proto3")
    string, int32, bytes_, message = (descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                                      descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                                      descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
                                      descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE)
    optional, repeated = (descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                          descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)

    def add(name, fields):
        m = file.message_type.add(name=name)
        for number, (field_name, kind, label, type_name) in enumerate(fields, start=1):
            m.field.add(name=field_name, number=number, type=kind, label=label, type_name=type_name)

    # Field numbers as in google/rpc/status.proto, google/protobuf/any.proto and google/rpc/error_details.proto.
    add("Any", [("type_url", string, optional, None), ("value", bytes_, optional, None)])
    add("Status", [("code", int32, optional, None), ("message", string, optional, None),
                   ("details", message, repeated, ".hashhub_sdk.rpc.Any")])
    add("FieldViolation", [("field", string, optional, None), ("description", string, optional, None)])
    add("BadRequest", [("field_violations", message, repeated, ".hashhub_sdk.rpc.FieldViolation")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)

    def message_class(name):
        descriptor = pool.FindMessageTypeByName("hashhub_sdk.rpc." + name)
        if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
            return message_factory.GetMessageClass(descriptor)
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)

    return message_class("Status"), message_class("BadRequest")


_STATUS, _BAD_REQUEST = _rpc_status_types()
