"""Market value (US$ billions, about the end of 2023, rounded) and industry of the real names
of the built-in universe (``shared.market.symbols.REAL_SYMBOLS``); for funds, their net assets.

Only the scale is real: the built-in market's shares outstanding are these values over the
name's base price, and its market value moves with the simulated price.
"""
from __future__ import annotations

REAL: dict[str, tuple[int, str]] = {
    "AAPL": (2990, "Consumer Electronics"), "MSFT": (2790, "Software - Infrastructure"),
    "NVDA": (1220, "Semiconductors"), "AMZN": (1570, "Internet Retail"),
    "GOOG": (880, "Internet Content & Information"), "META": (910, "Internet Content & Information"),
    "TSLA": (790, "Auto Manufacturers"), "SPY": (500, "Exchange Traded Fund"),
    "QQQ": (230, "Exchange Traded Fund"), "GOOGL": (880, "Internet Content & Information"),
    "AVGO": (520, "Semiconductors"), "JPM": (490, "Banks - Diversified"),
    "LLY": (553, "Drug Manufacturers - General"), "V": (535, "Credit Services"),
    "IWM": (60, "Exchange Traded Fund"), "DIA": (33, "Exchange Traded Fund"),
    "UNH": (487, "Healthcare Plans"), "XOM": (396, "Oil & Gas Integrated"),
    "MA": (400, "Credit Services"), "JNJ": (377, "Drug Manufacturers - General"),
    "WMT": (424, "Discount Stores"), "PG": (345, "Household & Personal Products"),
    "HD": (345, "Home Improvement Retail"), "COST": (293, "Discount Stores"),
    "ORCL": (290, "Software - Infrastructure"), "MRK": (276, "Drug Manufacturers - General"),
    "ABBV": (274, "Drug Manufacturers - General"), "CVX": (282, "Oil & Gas Integrated"),
    "BAC": (266, "Banks - Diversified"), "KO": (255, "Beverages - Non-Alcoholic"),
    "PEP": (233, "Beverages - Non-Alcoholic"), "AMD": (238, "Semiconductors"),
    "NFLX": (213, "Entertainment"), "ADBE": (270, "Software - Infrastructure"),
    "CRM": (255, "Software - Application"), "TMO": (205, "Diagnostics & Research"),
    "LIN": (198, "Specialty Chemicals"), "MCD": (214, "Restaurants"),
    "ACN": (220, "Information Technology Services"), "CSCO": (205, "Communication Equipment"),
    "ABT": (191, "Medical Devices"), "WFC": (179, "Banks - Diversified"),
    "DIS": (165, "Entertainment"), "INTC": (212, "Semiconductors"),
    "TXN": (155, "Semiconductors"), "QCOM": (161, "Semiconductors"),
    "INTU": (175, "Software - Application"), "AMAT": (135, "Semiconductor Equipment"),
    "IBM": (150, "Information Technology Services"), "CAT": (150, "Farm & Heavy Machinery"),
    "VZ": (158, "Telecom Services"), "T": (120, "Telecom Services"),
    "CMCSA": (177, "Telecom Services"), "PFE": (163, "Drug Manufacturers - General"),
    "AMGN": (154, "Drug Manufacturers - General"), "NKE": (164, "Footwear & Accessories"),
    "UBER": (127, "Software - Application"), "NOW": (145, "Software - Application"),
    "GS": (126, "Capital Markets"), "MS": (153, "Capital Markets"),
    "UNP": (150, "Railroads"), "HON": (137, "Conglomerates"), "PM": (146, "Tobacco"),
    "LOW": (128, "Home Improvement Retail"), "BA": (158, "Aerospace & Defense"),
    "SBUX": (110, "Restaurants"), "RTX": (121, "Aerospace & Defense"),
    "SPGI": (140, "Financial Data & Stock Exchanges"), "BLK": (121, "Asset Management"),
    "ISRG": (118, "Medical Instruments & Supplies"), "BKNG": (121, "Travel Services"),
    "GILD": (101, "Drug Manufacturers - General"), "MDT": (110, "Medical Devices"),
    "LMT": (113, "Aerospace & Defense"), "DE": (112, "Farm & Heavy Machinery"),
    "ADP": (95, "Staffing & Employment Services"), "C": (98, "Banks - Diversified"),
    "SCHW": (125, "Capital Markets"), "MU": (94, "Semiconductors"),
    "PYPL": (66, "Credit Services"), "NEE": (125, "Utilities - Regulated Electric"),
    "DUK": (75, "Utilities - Regulated Electric"), "SO": (77, "Utilities - Regulated Electric"),
    "AMT": (101, "REIT - Specialty"), "PLD": (123, "REIT - Industrial"),
    "EQIX": (76, "REIT - Specialty"), "COP": (137, "Oil & Gas E&P"),
    "SLB": (74, "Oil & Gas Equipment & Services"), "SHW": (79, "Specialty Chemicals"),
    "FCX": (61, "Copper"), "UPS": (134, "Integrated Freight & Logistics"),
    "F": (49, "Auto Manufacturers"), "GM": (49, "Auto Manufacturers"),
    "PLTR": (37, "Software - Infrastructure"), "COIN": (42, "Financial Data & Stock Exchanges"),
    "VOO": (380, "Exchange Traded Fund"), "XLK": (60, "Exchange Traded Fund"),
    "XLF": (35, "Exchange Traded Fund"), "XLE": (35, "Exchange Traded Fund"),
    "XLV": (40, "Exchange Traded Fund"), "GLD": (57, "Exchange Traded Fund"),
    "TLT": (50, "Exchange Traded Fund"),
}

#: Industries of the made-up names, by sector.
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Technology": ("Software - Application", "Software - Infrastructure", "Semiconductors",
                   "Information Technology Services", "Communication Equipment"),
    "Health Care": ("Biotechnology", "Medical Devices", "Drug Manufacturers - Specialty",
                    "Diagnostics & Research", "Healthcare Plans"),
    "Financials": ("Banks - Regional", "Capital Markets", "Insurance - Diversified",
                   "Asset Management", "Credit Services"),
    "Consumer Discretionary": ("Specialty Retail", "Restaurants", "Auto Parts",
                               "Leisure", "Apparel Retail"),
    "Communication Services": ("Entertainment", "Internet Content & Information",
                               "Telecom Services", "Advertising Agencies"),
    "Industrials": ("Specialty Industrial Machinery", "Aerospace & Defense", "Railroads",
                    "Building Products & Equipment", "Integrated Freight & Logistics"),
    "Consumer Staples": ("Packaged Foods", "Beverages - Non-Alcoholic",
                         "Household & Personal Products", "Grocery Stores"),
    "Energy": ("Oil & Gas E&P", "Oil & Gas Midstream", "Oil & Gas Equipment & Services"),
    "Utilities": ("Utilities - Regulated Electric", "Utilities - Regulated Gas",
                  "Utilities - Renewable"),
    "Real Estate": ("REIT - Industrial", "REIT - Residential", "REIT - Retail",
                    "REIT - Specialty"),
    "Materials": ("Specialty Chemicals", "Steel", "Building Materials", "Copper"),
}

#: The typical price/earnings ratio of each sector (the made-up names scatter around it).
SECTOR_PE: dict[str, float] = {
    "Technology": 30.0, "Health Care": 22.0, "Financials": 13.0, "Consumer Discretionary": 24.0,
    "Communication Services": 20.0, "Industrials": 21.0, "Consumer Staples": 22.0,
    "Energy": 11.0, "Utilities": 18.0, "Real Estate": 35.0, "Materials": 18.0,
}

#: The chance that a sector's company pays a dividend, and its typical yield (a fraction).
SECTOR_DIVIDEND: dict[str, tuple[float, float]] = {
    "Technology": (0.45, 0.008), "Health Care": (0.55, 0.016), "Financials": (0.85, 0.028),
    "Consumer Discretionary": (0.5, 0.012), "Communication Services": (0.45, 0.02),
    "Industrials": (0.75, 0.016), "Consumer Staples": (0.9, 0.027), "Energy": (0.85, 0.035),
    "Utilities": (0.97, 0.035), "Real Estate": (0.95, 0.038), "Materials": (0.8, 0.02),
}

#: Coins in circulation (about the end of 2023) of the built-in crypto pairs' bases.
COIN_SUPPLY: dict[str, int] = {"BTC": 19_580_000, "ETH": 120_200_000, "SOL": 434_000_000,
                               "LTC": 74_000_000}
