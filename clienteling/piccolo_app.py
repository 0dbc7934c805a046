"""The piccolo app: its tables and where its migrations live (``migrations/clienteling``)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from clienteling.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="clienteling",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "migrations" / "clienteling"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
