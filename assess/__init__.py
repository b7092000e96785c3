"""assess: mass online competency assessment of ASN for the move to IKN Nusantara."""
from __future__ import annotations

from flask import Flask


def create_app(config_class=None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI and error handlers."""
    from config import BASE_DIR, config_from_env

    config_class = config_class or config_from_env()
    if hasattr(config_class, "check"):
        config_class.check()

    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config_class)

    from assess import web

    web.init_extensions(app)
    web.register_blueprints(app)
    web.register_hooks(app)
    web.register_error_handlers(app)

    from assess.cli import register_cli

    register_cli(app)
    return app
