"""Reference tables of the synthetic world: activity codes, legal categories, sector
behaviour and the pieces company names are made of."""

from __future__ import annotations

from common.naf import SECTOR_GROUP_OF_SECTION, section_of

# NAF rev. 2 codes with a weight roughly proportional to their share of
# establishments with ten or more employees.
NAF_WEIGHTS: dict[str, float] = {
    "01.13Z": 0.5, "01.50Z": 0.3, "02.20Z": 0.2,
    "10.71C": 1.5, "10.13A": 0.5, "25.62B": 1.0, "28.29B": 0.5, "22.22Z": 0.5,
    "33.12Z": 0.8, "16.10A": 0.3, "18.12Z": 0.4, "20.59Z": 0.3, "29.32Z": 0.4,
    "31.09B": 0.3, "11.02B": 0.2, "35.11Z": 0.2, "38.11Z": 0.4,
    "41.20A": 2.0, "43.21A": 3.0, "43.22A": 2.5, "43.32A": 1.5, "43.99C": 2.0,
    "42.11Z": 0.8, "43.31Z": 1.0, "43.91B": 0.5,
    "45.20A": 1.5, "46.90Z": 1.5, "46.69B": 1.0, "47.11D": 2.5, "47.11F": 1.0,
    "47.30Z": 0.5, "47.71Z": 1.5, "46.39B": 1.0, "47.73Z": 1.0, "45.11Z": 1.5,
    "46.73A": 1.0, "47.52A": 0.8, "46.46Z": 0.5,
    "49.41A": 3.0, "49.39A": 0.8, "52.29A": 1.0, "52.10B": 0.7, "53.20Z": 0.5,
    "56.10A": 3.0, "56.10C": 1.5, "55.10Z": 1.5, "56.30Z": 0.5, "56.21Z": 0.8,
    "62.01Z": 2.0, "62.02A": 1.0, "58.29C": 0.3, "63.11Z": 0.4, "60.20A": 0.2,
    "64.19Z": 1.0, "66.22Z": 0.7, "65.12Z": 0.3, "68.20B": 0.4, "68.31Z": 0.6,
    "69.20Z": 1.5, "69.10Z": 0.5, "70.22Z": 1.0, "71.12B": 1.5, "73.11Z": 0.5,
    "74.90B": 0.4, "75.00Z": 0.3, "71.20B": 0.5,
    "78.20Z": 2.0, "81.21Z": 2.5, "80.10Z": 1.5, "82.99Z": 0.5, "77.11A": 0.3,
    "81.30Z": 0.8, "78.10Z": 0.4,
    "84.11Z": 2.5, "84.12Z": 0.5,
    "85.20Z": 1.0, "85.31Z": 0.8, "85.59A": 1.0, "85.32Z": 0.3,
    "86.10Z": 1.5, "87.10A": 2.0, "87.30A": 1.0, "88.10A": 1.5, "86.90D": 0.8,
    "86.21Z": 0.5, "88.91A": 1.0, "88.99B": 1.0,
    "93.12Z": 0.6, "90.01Z": 0.3, "93.29Z": 0.3, "94.99Z": 1.2, "96.02A": 0.8,
    "95.11Z": 0.1,
}  # fmt: skip

SECTOR_GROUPS = (
    "industry",
    "construction",
    "trade",
    "transport",
    "hospitality",
    "services",
    "public_health_education",
)

# Per sector group: long-run frailty offset (latent scale), exposure to the
# crisis (share of activity stopped), share of turnover that is value added,
# turnover per employee (k€), EBITDA margin.
SECTOR_PARAMS: dict[str, dict[str, float]] = {
    "industry": dict(frailty=0.0, crisis=0.5, va=0.32, productivity=190, margin=0.08),
    "construction": dict(frailty=0.3, crisis=0.6, va=0.38, productivity=140, margin=0.06),
    "trade": dict(frailty=0.1, crisis=0.55, va=0.18, productivity=260, margin=0.04),
    "transport": dict(frailty=0.2, crisis=0.5, va=0.40, productivity=120, margin=0.07),
    "hospitality": dict(frailty=0.35, crisis=1.0, va=0.55, productivity=70, margin=0.07),
    "services": dict(frailty=-0.05, crisis=0.4, va=0.55, productivity=110, margin=0.09),
    "public_health_education": dict(
        frailty=-0.8, crisis=0.15, va=0.65, productivity=70, margin=0.05
    ),
}


def sector_group(naf_code: str) -> str:
    return SECTOR_GROUP_OF_SECTION[section_of(naf_code) or "S"]


# INSEE legal categories (catégories juridiques): private ones by weight, and public
# ones (first digit 4 or 7: bodies of public law), used for sections O and P and a few
# public companies elsewhere.
PRIVATE_CATEGORIES = {
    "5710": 45.0, "5499": 33.0, "5599": 6.0, "5498": 8.0, "5202": 1.0,
    "6540": 1.0, "9220": 4.0, "1000": 2.0,
}  # fmt: skip
PUBLIC_CATEGORIES = {"7210": 40.0, "7220": 10.0, "7331": 20.0, "7364": 15.0, "4110": 15.0}
LEGAL_FORM_PREFIX = {
    "5710": "SAS", "5499": "SARL", "5599": "SA", "5498": "EURL", "5202": "SNC",
    "6540": "SCI", "9220": "ASSOCIATION", "1000": "", "7210": "COMMUNE DE",
    "7220": "DEPARTEMENT", "7331": "ETABLISSEMENT", "7364": "CENTRE HOSPITALIER", "4110": "EPIC",
}  # fmt: skip

NAME_SYLLABLES = (
    "bra", "cor", "del", "fen", "gal", "har", "jul", "kel", "lor", "mar", "nov", "pel",
    "quin", "ros", "sal", "tor", "val", "ver", "zan", "bel", "cam", "dor", "est", "fal",
    "gri", "lum", "mon", "nar", "ost", "pra", "riv", "sor", "tal", "vin", "xel", "yor",
)  # fmt: skip
NAME_ACTIVITY = (
    "BATIMENT", "TRANSPORTS", "NEGOCE", "SERVICES", "INDUSTRIE", "CONSEIL", "DISTRIBUTION",
    "RESTAURATION", "MENUISERIE", "LOGISTIQUE", "ELECTRICITE", "METALLURGIE", "NETTOYAGE",
    "HOTELLERIE", "AUTOMOBILES", "INGENIERIE", "BOULANGERIE", "PLASTIQUES",
)  # fmt: skip
STREET_TYPES = ("RUE", "AV", "BD", "CHE", "PL", "RTE", "ALL", "IMP", "QUAI", "ZA")
