"""The filing gateway: receives annual statements over Digipoort WUS and checks them as KVK does."""

from gateway.settings import Settings

__version__ = "0.1.0"
__all__ = ["Settings", "__version__"]
