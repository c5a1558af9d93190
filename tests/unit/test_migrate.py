"""Which role a database URL connects as: the name revision 0004 grants to."""

import getpass

from pipeline.ops.migrate import role_of


def test_the_role_is_the_user_of_a_postgresql_url():
    assert role_of("postgresql://cre_app:secret@db:5432/cre") == "cre_app"
    assert role_of("postgresql+psycopg2://CRE_App@db/cre") == "CRE_App"  # case kept: libpq sends it as is
    assert role_of("postgresql://db/cre?user=cre_app") == "cre_app"


def test_without_a_user_libpq_s_default_applies(monkeypatch):
    monkeypatch.setenv("PGUSER", "from_env")
    assert role_of("postgresql://db/cre") == "from_env"
    monkeypatch.delenv("PGUSER")
    assert role_of("postgresql://db/cre") == getpass.getuser()


def test_sqlite_has_no_roles():
    assert role_of("sqlite:///var/cre.sqlite3") is None
