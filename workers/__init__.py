"""Celery workers: ``celery -A workers worker -Q interactive,bulk``.

Tasks are thin: they take a job id, call one pipeline function and own retries and time limits.
"""

from workers.celery_app import create_celery

app = create_celery()
