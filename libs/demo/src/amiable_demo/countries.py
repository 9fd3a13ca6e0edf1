"""The debtors' countries: time zone, language, invoicing currency and what their company
names look like. Data, not rules: no rule reads the debtor's country (the governing law does).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Country:
    code: str
    timezone: str
    language: str
    currency: str
    #: One euro in the currency, roughly: invoice amounts look local, not converted to the cent.
    per_euro: Decimal
    words: tuple[str, ...]
    trades: tuple[str, ...]
    suffix: str
    phone_prefix: str
    email_domain: str
    #: Usual payment terms in days.
    terms: tuple[int, ...]


COUNTRIES: tuple[Country, ...] = (
    Country(
        "FR",
        "Europe/Paris",
        "fr-FR",
        "EUR",
        Decimal(1),
        ("Durand", "Lefèvre", "Moreau", "Garnier", "Rousseau", "Bertrand", "Fontaine", "Chevalier"),
        ("Transports", "Boulangerie", "Ateliers", "Menuiserie", "Imprimerie", "Cave"),
        "SAS",
        "+33",
        "fr",
        (30, 45, 60),
    ),
    Country(
        "DE",
        "Europe/Berlin",
        "de-DE",
        "EUR",
        Decimal(1),
        ("Becker", "Hoffmann", "Schäfer", "Koch", "Richter", "Wolf", "Neumann", "Krüger"),
        ("Maschinenbau", "Logistik", "Bäckerei", "Elektro", "Holzbau", "Druckerei"),
        "GmbH",
        "+49",
        "de",
        (14, 30, 30),
    ),
    Country(
        "NL",
        "Europe/Amsterdam",
        "nl-NL",
        "EUR",
        Decimal(1),
        ("de Vries", "Bakker", "Visser", "Smit", "Mulder", "de Boer", "Dekker", "Bos"),
        ("Transport", "Installatie", "Bouw", "Handel", "Techniek", "Groothandel"),
        "B.V.",
        "+31",
        "nl",
        (30, 30, 60),
    ),
    Country(
        "SE",
        "Europe/Stockholm",
        "sv-SE",
        "SEK",
        Decimal(11),
        ("Lindqvist", "Berg", "Nyström", "Holm", "Sandberg", "Ekström", "Lund", "Forsberg"),
        ("Bygg", "Transport", "Trä", "Mekaniska", "Elteknik", "Handel"),
        "AB",
        "+46",
        "se",
        (30, 30),
    ),
    Country(
        "IN",
        "Asia/Kolkata",
        "en-IN",
        "INR",
        Decimal(90),
        ("Sharma", "Iyer", "Patel", "Reddy", "Gupta", "Nair", "Mehta", "Rao"),
        ("Textiles", "Engineering", "Traders", "Pharma", "Logistics", "Foods"),
        "Pvt Ltd",
        "+91",
        "in",
        (30, 45, 60),
    ),
    Country(
        "JP",
        "Asia/Tokyo",
        "ja-JP",
        "JPY",
        Decimal(160),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"),
        ("Shoji", "Kogyo", "Seisakusho", "Butsuryu", "Kensetsu", "Denki"),
        "K.K.",
        "+81",
        "jp",
        (30, 60),
    ),
    Country(
        "AE",
        "Asia/Dubai",
        "ar-AE",
        "AED",
        Decimal(4),
        ("Al Mansoori", "Al Falasi", "Haddad", "Al Nuaimi", "Khoury", "Al Suwaidi"),
        ("Trading", "Contracting", "General Trading", "Logistics", "Facilities"),
        "LLC",
        "+971",
        "ae",
        (30, 60, 90),
    ),
    Country(
        "US",
        "America/New_York",
        "en-US",
        "USD",
        Decimal("1.1"),
        ("Miller", "Johnson", "Carter", "Brooks", "Hayes", "Sullivan", "Parker", "Reed"),
        ("Supply", "Logistics", "Builders", "Foods", "Manufacturing", "Services"),
        "Inc.",
        "+1",
        "com",
        (30, 30, 45),
    ),
    Country(
        "GB",
        "Europe/London",
        "en-GB",
        "GBP",
        Decimal("0.85"),
        ("Hughes", "Clarke", "Turner", "Walsh", "Barker", "Fletcher", "Holt", "Pearce"),
        ("Joinery", "Haulage", "Engineering", "Printers", "Wholesale", "Foods"),
        "Ltd",
        "+44",
        "co.uk",
        (30, 30, 60),
    ),
    Country(
        "ES",
        "Europe/Madrid",
        "es-ES",
        "EUR",
        Decimal(1),
        ("García", "Fernández", "López", "Martín", "Sánchez", "Romero", "Navarro", "Torres"),
        ("Transportes", "Construcciones", "Distribuciones", "Talleres", "Alimentación"),
        "S.L.",
        "+34",
        "es",
        (30, 60, 60),
    ),
    Country(
        "IT",
        "Europe/Rome",
        "it-IT",
        "EUR",
        Decimal(1),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
        ("Trasporti", "Costruzioni", "Meccanica", "Arredamenti", "Alimentari", "Tipografia"),
        "S.r.l.",
        "+39",
        "it",
        (30, 60, 90),
    ),
)

BY_CODE = {country.code: country for country in COUNTRIES}

#: The governing law of each tenant in turn: the creditor's country chooses the late-payment
#: rules, never the debtor's (amiable_rules.governing_law).
TENANT_LAWS: tuple[str, ...] = ("FR", "DE", "GB", "NL", "ES", "IT")
