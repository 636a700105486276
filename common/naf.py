"""NAF rev. 2: the section (letter) of a division (the code's first two digits)."""

from __future__ import annotations

_SECTIONS = [
    ("A", 1, 3),
    ("B", 5, 9),
    ("C", 10, 33),
    ("D", 35, 35),
    ("E", 36, 39),
    ("F", 41, 43),
    ("G", 45, 47),
    ("H", 49, 53),
    ("I", 55, 56),
    ("J", 58, 63),
    ("K", 64, 66),
    ("L", 68, 68),
    ("M", 69, 75),
    ("N", 77, 82),
    ("O", 84, 84),
    ("P", 85, 85),
    ("Q", 86, 88),
    ("R", 90, 93),
    ("S", 94, 96),
    ("T", 97, 98),
    ("U", 99, 99),
]

SECTION_OF_DIVISION: dict[str, str] = {
    f"{division:02d}": letter
    for letter, low, high in _SECTIONS
    for division in range(low, high + 1)
}

# Broad sector groups, for reporting metrics and sector-wide effects.
SECTOR_GROUP_OF_SECTION: dict[str, str] = {
    "A": "services",
    "B": "industry",
    "C": "industry",
    "D": "industry",
    "E": "industry",
    "F": "construction",
    "G": "trade",
    "H": "transport",
    "I": "hospitality",
    "J": "services",
    "K": "services",
    "L": "services",
    "M": "services",
    "N": "services",
    "O": "public_health_education",
    "P": "public_health_education",
    "Q": "public_health_education",
    "R": "services",
    "S": "services",
    "T": "services",
    "U": "services",
}


def section_of(naf_code: str) -> str | None:
    """Section letter of a NAF code such as ``52.21Z`` (None when unknown)."""
    return SECTION_OF_DIVISION.get((naf_code or "")[:2])
