from .entities import Alias, Entity, country_name, validate_country_code
from .records import Record, validate_currency
from .sources import Citation, Source

__all__ = ["Alias", "Citation", "Entity", "Record", "Source", "country_name", "validate_country_code", "validate_currency"]
