"""The running app's settings (each app owns the settings it was created with)."""

from flask import current_app

from pipeline.core.settings import Settings


def settings() -> Settings:
    return current_app.config["CRE_SETTINGS"]
