"""The static world of one block: companies, their establishments and identifiers.

A block holds a fixed number of consecutive establishments; everything in it is
drawn from a random stream seeded by (seed, block), so a block is the same
whatever the partitioning or the number of cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.geo import DEPARTEMENTS
from generator.reference import (
    LEGAL_FORM_PREFIX,
    NAF_WEIGHTS,
    NAME_ACTIVITY,
    NAME_SYLLABLES,
    PRIVATE_CATEGORIES,
    PUBLIC_CATEGORIES,
    SECTOR_GROUPS,
    SECTOR_PARAMS,
    sector_group,
)
from generator.scenario import TAU, Scenario

BLOCK_SIZE = 1000  # establishments per block: the unit of work and of randomness

_NAF_CODES = np.array(list(NAF_WEIGHTS))
_NAF_P = np.array(list(NAF_WEIGHTS.values())) / sum(NAF_WEIGHTS.values())
_DEPTS = np.array(list(DEPARTEMENTS))
_DEPT_P = np.array([pop for _, pop in DEPARTEMENTS.values()], dtype=float)
_DEPT_P /= _DEPT_P.sum()
_GROUP_INDEX = {g: i for i, g in enumerate(SECTOR_GROUPS)}


def luhn_complete(digits: str) -> str:
    """Append the check digit that makes ``digits`` pass the Luhn test (as SIREN/SIRET do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # positions doubled once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def siren_of(company_key: int) -> str:
    # a bijection of the key onto 8 digits (48271 is prime to 10^8), then the check digit
    return luhn_complete(f"{(company_key * 48271 + 10_000_019) % 100_000_000:08d}")


@dataclass
class World:
    """Arrays over the block's companies (``c_*``) and establishments (``e_*``)."""

    c_key: np.ndarray
    c_siren: np.ndarray
    c_naf: np.ndarray
    c_group: np.ndarray
    c_category: np.ndarray
    c_public: np.ndarray
    c_created: np.ndarray  # datetime64[D]
    c_frailty: np.ndarray
    c_name: np.ndarray
    c_fy_end: np.ndarray  # month (6, 9 or 12) of the fiscal year end
    c_capital: np.ndarray
    c_productivity: np.ndarray  # firm effect on turnover per employee
    e_key: np.ndarray
    e_company: np.ndarray  # index into the c_* arrays
    e_nic: np.ndarray
    e_siret: np.ndarray
    e_compte: np.ndarray
    e_dept: np.ndarray
    e_commune: np.ndarray
    e_postcode: np.ndarray
    e_siege: np.ndarray
    e_created: np.ndarray  # datetime64[D]
    e_start: np.ndarray  # first month index with activity (0 for those active before)
    e_closed: np.ndarray  # month index of a voluntary closure, or -1
    e_size0: np.ndarray  # headcount at the start
    e_wage: np.ndarray  # gross monthly wage per employee (euros)
    e_quarterly: np.ndarray  # pays contributions by quarter
    e_gestion: np.ndarray  # managing URSSAF code

    @property
    def n_companies(self) -> int:
        return len(self.c_key)

    @property
    def n_establishments(self) -> int:
        return len(self.e_key)


def _establishment_counts(rng: np.random.Generator, n_est: int) -> list[int]:
    counts: list[int] = []
    remaining = n_est
    while remaining > 0:
        u = rng.uniform()
        if u < 0.86:
            k = 1
        elif u < 0.94:
            k = 2
        elif u < 0.97:
            k = 3
        elif u < 0.995:
            k = int(rng.integers(4, 10))
        else:
            k = int(rng.integers(10, 41))
        counts.append(min(k, remaining))
        remaining -= counts[-1]
    return counts


def _commune(dept: str, number: int) -> str:
    """INSEE commune code: département (3 characters overseas) + number."""
    return dept + (f"{number % 100:02d}" if len(dept) == 3 else f"{number:03d}")


def _postcode(dept: str, number: int) -> str:
    prefix = "20" if dept in ("2A", "2B") else dept
    return prefix + f"{(number * 7) % 1000:03d}"[len(prefix) - 2 :]


def _names(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    syllables = np.array(NAME_SYLLABLES)
    names = []
    for category in categories:
        word = "".join(rng.choice(syllables, size=int(rng.integers(2, 4)))).upper()
        second = "".join(rng.choice(syllables, size=2)).upper()
        activity = NAME_ACTIVITY[int(rng.integers(len(NAME_ACTIVITY)))]
        prefix = LEGAL_FORM_PREFIX[category]
        core = f"{word} {second}" if category.startswith(("7", "4")) else f"{word} {activity}"
        names.append(f"{prefix} {core}".strip())
    return np.array(names)


def _categories(rng: np.random.Generator, naf: np.ndarray) -> np.ndarray:
    private = list(PRIVATE_CATEGORIES)
    p_private = np.array(list(PRIVATE_CATEGORIES.values()))
    public = list(PUBLIC_CATEGORIES)
    p_public = np.array(list(PUBLIC_CATEGORIES.values()))
    out = []
    for code in naf:
        section_public = {"84": 0.97, "85": 0.55, "86": 0.25, "87": 0.15}.get(code[:2], 0.01)
        if rng.uniform() < section_public:
            out.append(rng.choice(public, p=p_public / p_public.sum()))
        else:
            out.append(rng.choice(private, p=p_private / p_private.sum()))
    return np.array(out)


def _companies(scenario: Scenario, block: int, counts: np.ndarray, rng) -> dict[str, np.ndarray]:
    n_c = len(counts)
    first_month = np.datetime64(scenario.month_label(0), "M")
    naf = rng.choice(_NAF_CODES, size=n_c, p=_NAF_P)
    group = np.array([_GROUP_INDEX[sector_group(code)] for code in naf])
    category = _categories(rng, naf)
    public = np.array([cat.startswith(("7", "4")) for cat in category])
    # age at the start of the window: mostly established firms, ~4% created inside it
    age_days = (rng.exponential(14.0, n_c) * 365.25).astype(int) + 180
    inside = rng.uniform(size=n_c) < 0.04
    inside_month = first_month + rng.integers(1, max(scenario.months - 6, 2), n_c)
    created = np.where(
        inside,
        inside_month.astype("datetime64[D]") + rng.integers(0, 28, n_c),
        first_month.astype("datetime64[D]") - age_days,
    )
    young = np.clip(1 - age_days / (365.25 * 5), 0, 1) + inside
    frailty = (
        np.array([SECTOR_PARAMS[SECTOR_GROUPS[g]]["frailty"] for g in group])
        + 0.35 * young
        - 0.25 * (counts >= 4)
        - 1.0 * public
        + TAU * rng.standard_normal(n_c)
    )
    key = block * BLOCK_SIZE + np.arange(n_c)
    return dict(
        c_key=key,
        c_siren=np.array([siren_of(int(k)) for k in key]),
        c_naf=naf,
        c_group=group,
        c_category=category,
        c_public=public,
        c_created=created,
        c_frailty=frailty,
        c_name=_names(rng, category),
        c_fy_end=rng.choice([12, 6, 9], size=n_c, p=[0.85, 0.08, 0.07]),
        c_capital=np.round(1000 * (1 - rng.uniform(size=n_c)) ** (-1 / 0.8) + 1000, -2),
        c_productivity=np.exp(0.25 * rng.standard_normal(n_c)),
    )


def _sizes(rank: np.ndarray, counts_of_company: np.ndarray, rng) -> np.ndarray:
    """Heavy-tailed headcounts: lognormal around 25, a Pareto tail for a few giants."""
    size = np.exp(np.log(25) + 0.95 * rng.standard_normal(rank.size))
    giants = rng.uniform(size=rank.size) < 0.02
    size[giants] = np.minimum(100 * (1 - rng.uniform(size=giants.sum())) ** (-1 / 1.2), 15_000)
    size[(rank == 0) & (counts_of_company >= 4)] *= 3.0  # head offices of groups
    return np.maximum(np.round(size), 1).astype(int)


def _establishments(scenario, block, counts, companies, rng) -> dict[str, np.ndarray]:
    e_company = np.repeat(np.arange(len(counts)), counts)
    n_e = len(e_company)
    rank = np.arange(n_e) - np.repeat(np.cumsum(counts) - counts, counts)  # 0 = head office
    key = block * BLOCK_SIZE + np.arange(n_e)
    siren = companies["c_siren"]
    nic = np.array(
        [luhn_complete(siren[c] + f"{r + 1:04d}")[9:] for c, r in zip(e_company, rank, strict=True)]
    )
    head_dept = rng.choice(_DEPTS, size=len(counts), p=_DEPT_P)
    same_dept = (rank == 0) | (rng.uniform(size=n_e) < 0.5)
    dept = np.where(same_dept, head_dept[e_company], rng.choice(_DEPTS, size=n_e, p=_DEPT_P))
    commune_no = rng.integers(1, 600, n_e)
    size0 = _sizes(rank, counts[e_company], rng)

    first_month = np.datetime64(scenario.month_label(0), "M")
    company_created = companies["c_created"][e_company]
    created = company_created + np.where(rank == 0, 0, rng.integers(0, 3000, n_e))
    opens_inside = (rank > 0) & (rng.uniform(size=n_e) < 0.04)
    inside_month = first_month + rng.integers(1, max(scenario.months - 3, 2), n_e)
    created = np.maximum(
        np.where(opens_inside, inside_month.astype("datetime64[D]"), created), company_created
    )
    start = np.clip((created.astype("datetime64[M]") - first_month).astype(int), 0, None)
    closed = np.where(rng.uniform(size=n_e) < 0.03, rng.integers(1, scenario.months, n_e), -1)
    return dict(
        e_key=key,
        e_company=e_company,
        e_nic=nic,
        e_siret=np.array([siren[c] + n for c, n in zip(e_company, nic, strict=True)]),
        e_compte=np.array([f"{(int(k) * 7919 + 123_456_789_013) % 10**15:015d}117" for k in key]),
        e_dept=dept,
        e_commune=np.array([_commune(d, n) for d, n in zip(dept, commune_no, strict=True)]),
        e_postcode=np.array([_postcode(d, n) for d, n in zip(dept, commune_no, strict=True)]),
        e_siege=rank == 0,
        e_created=created,
        e_start=start,
        e_closed=np.where(closed <= start, -1, closed),
        e_size0=size0,
        e_wage=np.exp(np.log(2700) + 0.25 * rng.standard_normal(n_e)),
        e_quarterly=(size0 < 15) & (rng.uniform(size=n_e) < 0.25),
        e_gestion=np.array([f"{int(DEPARTEMENTS[d][0]) * 10 + 7:03d}" for d in dept]),
    )


def block_sizes(establishments: int) -> list[int]:
    """Establishments of each block of a world: full blocks, then what is left."""
    starts = range(0, establishments, BLOCK_SIZE)
    return [min(BLOCK_SIZE, establishments - first) for first in starts]


def build_world(scenario: Scenario, block: int, n_est: int) -> World:
    """Companies and establishments of one block (``n_est`` establishments)."""
    rng = np.random.default_rng([scenario.seed, 1, block])
    counts = np.array(_establishment_counts(rng, n_est))
    companies = _companies(scenario, block, counts, rng)
    return World(**companies, **_establishments(scenario, block, counts, companies, rng))
