from .entities import Alias, Entity, Fact, NameKey, country_name, validate_country_code
from .records import Record, validate_currency
from .sources import Citation, Source

__all__ = ["Alias", "Citation", "Entity", "Fact", "NameKey", "Record", "Source", "country_name", "validate_country_code",
           "validate_currency"]
