"""piccolo configuration.

The engine comes from ``CLIENTELING_DATABASE_URL`` (see ``clienteling.db``). The service binds
its own engine at start; this module only serves piccolo's CLI (``piccolo migrations ...``).
"""

import os

from piccolo.conf.apps import AppRegistry

from clienteling.db import engine_from_url

DB = engine_from_url(os.environ.get("CLIENTELING_DATABASE_URL", "sqlite:///./clienteling.sqlite3"))

APP_REGISTRY = AppRegistry(apps=["clienteling.piccolo_app"])
