"""Entry points: the Litestar app factory, REST controllers, settings and the CLI."""
