"""Log lines are JSON and never carry an exception's message (it can quote personal data)."""

import json
import logging

from api.observability import JsonFormatter, current_request_id


def test_exception_is_logged_by_type_and_frames_without_its_message() -> None:
    value = "lucia" + ".secret@example.com"  # built at run time, as a database message would be
    try:
        raise ValueError(f"duplicate key value (email)=({value})")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "unexpected error %s", ("ValueError",), exc_info=__import__("sys").exc_info())
    token = current_request_id.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        current_request_id.reset(token)
    entry = json.loads(line)
    assert entry["exception"] == "ValueError" and "test_json_logs.py" in entry["stack"]
    assert entry["requestId"] == "req-1" and entry["message"] == "unexpected error ValueError"
    assert "lucia.secret" not in line
