"""The one owner of ``mlgate.yaml``: settings resolved once, typed sections, the YAML line map.

- :mod:`mlgate.config.settings`: :class:`Settings` and :func:`load_settings` (arguments, then ``MLGATE_*``,
  then ``mlgate.yaml``, then defaults); the only module that reads the environment.
- :mod:`mlgate.config.sections`: ``ModelConfig``, ``DataConfig``, ``GatesConfig``, ``PipelineConfig``,
  ``ServeConfig``, ``PromoteConfig``, ``TrustConfig``, ``ServerConfig`` (room for a team server), with
  ``MonitorConfig`` in :mod:`mlgate.config.monitor` and ``DeliveryConfig`` in :mod:`mlgate.config.delivery`;
  read as ``settings.model``, ``settings.data``, ``settings.monitor``… and parsed on first read.
- :mod:`mlgate.config.parse`: the shape checks the sections share.
- :mod:`mlgate.config.yamlfile`: :func:`read_yaml`, a YAML file parsed once with the line of every key path.

Read sections, never ``settings.raw``: ``settings.data.target``, ``settings.pipeline.has_stages``,
``settings.promote.protected``, ``configured_dataset(settings.data, settings.root)`` (the evaluation ``Dataset``).
"""

from __future__ import annotations

from mlgate.config.sections import (
    CONFIG_NAME,
    EXECUTORS,
    ConfigFile,
    DataConfig,
    DeliveryConfig,
    GatesConfig,
    ModelConfig,
    MonitorConfig,
    PipelineConfig,
    PromoteConfig,
    ServeConfig,
    ServerConfig,
    TrustConfig,
)
from mlgate.config.settings import (
    CI_VARIABLES,
    DEFAULT_BUSY_TIMEOUT_S,
    KNOWN_KEYS,
    MAX_BUSY_TIMEOUT_S,
    STAGE_VARIABLES,
    STATE_DIR,
    SUPPORTED_SCHEMES,
    Settings,
    find_config,
    load_settings,
    normalize_registry_url,
)
from mlgate.config.yamlfile import MAX_ALIAS_EXPANSION, MAX_DEPTH, read_yaml

# the old private name, still imported by modules outside this package (params.yaml, schemas, lineage)
_yaml_with_lines = read_yaml

__all__ = [
    "CI_VARIABLES",
    "CONFIG_NAME",
    "DEFAULT_BUSY_TIMEOUT_S",
    "EXECUTORS",
    "KNOWN_KEYS",
    "MAX_ALIAS_EXPANSION",
    "MAX_BUSY_TIMEOUT_S",
    "MAX_DEPTH",
    "STAGE_VARIABLES",
    "STATE_DIR",
    "SUPPORTED_SCHEMES",
    "ConfigFile",
    "DataConfig",
    "DeliveryConfig",
    "GatesConfig",
    "ModelConfig",
    "MonitorConfig",
    "PipelineConfig",
    "PromoteConfig",
    "ServeConfig",
    "ServerConfig",
    "Settings",
    "TrustConfig",
    "find_config",
    "load_settings",
    "normalize_registry_url",
    "read_yaml",
]
