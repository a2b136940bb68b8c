"""The provisional jurisdiction → region mapping, and the jurisdiction fixture built from it.

The source documents do not say which states form each region; this default is
provisional until the RST supervisor confirms it (and changes it in the admin).
Names and codes come from the `us` package, not a hand-typed list.
"""

import us

# The fixtures in fixtures/ that hold the facts from the source documents, in load order.
REFERENCE_FIXTURES = ["regions", "jurisdictions", "specialists", "services", "program_contacts"]

PROVISIONAL_REGIONS = {
    1: ("Northeast", "CT ME MA NH RI VT NY NJ PA DE MD DC PR VI"),
    2: ("Southeast", "VA WV NC SC GA FL KY TN AL MS"),
    3: ("Midwest", "MN WI MI IL IN OH IA MO ND SD NE KS"),
    4: ("South Central & Mountain", "TX OK AR LA NM AZ CO UT"),
    5: ("West & Pacific", "CA OR WA NV ID MT WY AK HI GU MP AS"),
}


# The territories' own zones (the `us` package gives some of them a neighbour's or an alias).
TERRITORY_TIME_ZONES = {
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
}


def jurisdiction_time_zone(state) -> str:
    """The zone a jurisdiction's times are shown in: its capital's (`us`), territories named."""
    return TERRITORY_TIME_ZONES.get(state.abbr) or state.capital_tz


def jurisdiction_kind(state) -> str:
    if state.is_territory:
        return "territory"
    if state.abbr == "DC":
        return "district"
    return "state"


def jurisdiction_fixture() -> list[dict]:
    """The 56 jurisdictions as fixture objects, with their provisional region."""
    region_of = {
        code: number
        for number, (_name, codes) in PROVISIONAL_REGIONS.items()
        for code in codes.split()
    }
    return [
        {
            "model": "regions.jurisdiction",
            "pk": state.abbr,
            "fields": {
                "name": state.name,
                "kind": jurisdiction_kind(state),
                "time_zone": jurisdiction_time_zone(state),
                "region": region_of[state.abbr],
            },
        }
        for state in sorted(us.states.STATES_AND_TERRITORIES, key=lambda s: s.abbr)
    ]
