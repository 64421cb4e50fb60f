"""Connection parameters for a psycopg connection of a process's own, beside
Django's: the relay's leader lock and LISTEN, the mailer's LISTEN."""


def psycopg_conninfo(settings_dict: dict) -> dict:
    """psycopg.connect() keywords for the database Django's settings name."""
    return {
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
        "dbname": settings_dict["NAME"],
    }
