"""Each job kind is declared once and listed once; its task carries the kind's stable name."""

from pipeline.kinds import KINDS, by_name
from pipeline.vocabulary import JOB_KINDS
from workers import app


def test_every_kind_is_listed_once_and_allowed_by_the_database():
    names = [kind.name for kind in KINDS]
    assert len(set(names)) == len(names)
    assert sorted(names) == sorted(JOB_KINDS)
    assert all(by_name(kind.name) is kind for kind in KINDS)


def test_every_kind_has_its_task_and_its_queue():
    app.loader.import_default_modules()
    for kind in KINDS:
        assert kind.task in app.tasks, kind.task
        assert kind.queue in ("interactive", "bulk")


def test_task_names_are_those_messages_in_flight_carry():
    assert {kind.name: kind.task for kind in KINDS} == {
        "extraction": "extraction.run",
        "chat": "chat.run",
        "maintenance": "maintenance.run",
        "batch": "batch.expand",
        "refund_quote": "refund_quote.run",
    }
