"""Value types shared by every service: money, enums and ids."""
from shared.domain.money import MICROS, D, cents, from_micros, money_str, to_micros

__all__ = ["MICROS", "D", "cents", "from_micros", "money_str", "to_micros"]
