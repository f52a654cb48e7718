"""The SQL record: typed models, migrations and the engine factory."""
