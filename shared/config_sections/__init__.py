"""Settings sections owned by one area each, composed into ``shared.config.Settings``.

Each module defines one pydantic model named ``Section`` with every default; an unknown key in
the YAML file or an override is rejected because every model forbids extra keys.
"""
