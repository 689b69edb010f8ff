"""Conversions between Python values and the protobuf types of the jobd.v1 API."""
import datetime

from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from jobd.proto import job_pb2


def dict_to_struct(value):
    """A google.protobuf.Struct from a JSON-like dict (a Struct is passed through)."""
    if isinstance(value, struct_pb2.Struct):
        return value
    struct = struct_pb2.Struct()
    if value:
        if not isinstance(value, dict):
            raise TypeError(f"expected a dict, got {type(value).__name__}")
        struct.update(value)
    return struct


def struct_to_dict(struct):
    """A dict from a Struct. Numbers come back as floats: JSON has no integers."""
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_duration(value):
    """A Duration from seconds (int or float), a timedelta or a Duration."""
    if isinstance(value, duration_pb2.Duration):
        return value
    duration = duration_pb2.Duration()
    if isinstance(value, datetime.timedelta):
        duration.FromTimedelta(value)
    else:
        duration.FromNanoseconds(int(round(float(value) * 1e9)))
    return duration


def to_timestamp(value):
    """A Timestamp from an aware datetime (naive ones are taken as UTC) or a Timestamp."""
    if isinstance(value, timestamp_pb2.Timestamp):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(datetime.timezone.utc))
    return stamp


def to_retry_policy(value):
    """A RetryPolicy from one or a dict: max_attempts, and backoffs as seconds or timedeltas."""
    if value is None or isinstance(value, job_pb2.RetryPolicy):
        return value
    policy = job_pb2.RetryPolicy()
    for name, field in value.items():
        if name in ("initial_backoff", "max_backoff"):
            getattr(policy, name).CopyFrom(to_duration(field))
        else:
            setattr(policy, name, field)
    return policy


def message_level(level):
    """A MessageLevel from "info" / "warning" / "error" (any case) or the enum's value."""
    if isinstance(level, str):
        return job_pb2.MessageLevel.Value("MESSAGE_LEVEL_" + level.upper())
    return int(level)
