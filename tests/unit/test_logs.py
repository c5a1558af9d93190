import json
import logging

from pipeline.core.logs import JsonFormatter, mask_secrets, request_id_var


def _record(msg, *args, **extra):
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_is_json_with_the_request_id_and_extras():
    token = request_id_var.set("req-123")
    try:
        line = JsonFormatter().format(_record("job %s started", "j1", job_id="j1"))
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "job j1 started"
    assert entry["request_id"] == "req-123"
    assert entry["job_id"] == "j1"
    assert entry["level"] == "INFO"


def test_secrets_never_reach_the_line():
    formatter = JsonFormatter(secrets=("hunter2-password",))
    line = formatter.format(
        _record("connecting to %s with %s and %s", "postgresql://app:pw1@db/x", "hunter2-password", "sk-ant-abcdefghijklmnop")
    )
    assert "hunter2-password" not in line
    assert "pw1@" not in line
    assert "sk-ant-abcdefghijklmnop" not in line
    assert "postgresql://app:***@db/x" in line


def test_mask_leaves_ordinary_text_alone():
    assert mask_secrets("premium $795.00 for account 4350948342") == "premium $795.00 for account 4350948342"
