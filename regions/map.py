"""The tile map of the regions: one square per state, DC and territory, coloured by region.

Drawn from the jurisdiction → region mapping as the page already has it (regions with
their jurisdictions prefetched), so it costs no query, and kept in the process-local
cache under a key made from the mapping itself: a change in the admin draws a new map
on the next request, with no signal to miss (a queryset.update() included).
"""

import hashlib
from collections.abc import Iterable

import us
from django.conf import settings
from django.core.cache import caches
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

# Column, row of each state and DC on the grid (after NPR's tile grid); the territories
# sit in two insets below it, the Pacific ones on the left and the Caribbean ones on the right.
GRID = {
    "AK": (0, 0), "ME": (10, 0),
    "WI": (5, 1), "VT": (9, 1), "NH": (10, 1),
    "WA": (0, 2), "ID": (1, 2), "MT": (2, 2), "ND": (3, 2), "MN": (4, 2), "IL": (5, 2),
    "MI": (6, 2), "NY": (8, 2), "MA": (9, 2),
    "OR": (0, 3), "NV": (1, 3), "WY": (2, 3), "SD": (3, 3), "IA": (4, 3), "IN": (5, 3),
    "OH": (6, 3), "PA": (7, 3), "NJ": (8, 3), "CT": (9, 3), "RI": (10, 3),
    "CA": (0, 4), "UT": (1, 4), "CO": (2, 4), "NE": (3, 4), "MO": (4, 4), "KY": (5, 4),
    "WV": (6, 4), "VA": (7, 4), "MD": (8, 4), "DE": (9, 4),
    "AZ": (1, 5), "NM": (2, 5), "KS": (3, 5), "AR": (4, 5), "TN": (5, 5), "NC": (6, 5),
    "SC": (7, 5), "DC": (8, 5),
    "OK": (3, 6), "LA": (4, 6), "MS": (5, 6), "AL": (6, 6), "GA": (7, 6),
    "HI": (0, 7), "TX": (3, 7), "FL": (8, 7),
}  # fmt: skip
INSETS = [
    ("Pacific", 0, ["GU", "MP", "AS"]),
    ("Caribbean", 8, ["PR", "VI"]),
]
INSET_ROW = 8.75  # below the grid, leaving room for the inset's caption

TILE, PITCH, MARGIN = 44, 48, 8
COLUMNS = 11
WIDTH = MARGIN * 2 + (COLUMNS - 1) * PITCH + TILE
HEIGHT = int(MARGIN * 2 + INSET_ROW * PITCH + TILE + 6)
PALETTE_SIZE = 6  # static/css/portal.css: .rst-palette-1 … -6 (and -none)
CACHE_SECONDS = 24 * 60 * 60


def tile_codes() -> list[str]:
    """The 56 jurisdictions on the map, in reading order (row, then column; insets last)."""
    main = sorted(GRID, key=lambda code: (GRID[code][1], GRID[code][0]))
    return main + [code for _caption, _column, codes in INSETS for code in codes]


def tile_map(regions: Iterable) -> SafeString:
    """The map (an SVG of links) and its legend, for regions with prefetched jurisdictions.

    `regions` as regions.selectors.regions_with_specialists() returns them; jurisdictions
    in no region are drawn grey as "not assigned".
    """
    mapping = [
        (region.number, region.name, sorted((j.code, j.name) for j in region.jurisdictions.all()))
        for region in regions
    ]
    digest = hashlib.sha256(repr((settings.RST_RELEASE, mapping)).encode()).hexdigest()
    key = f"regions:tile-map:{digest}"
    cache = caches["local"]
    html = cache.get(key)
    if html is None:
        html = _draw(mapping)
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - built with format_html from escaped values


def palette(number: int) -> str:
    return f"rst-palette-{(number - 1) % PALETTE_SIZE + 1}"


def _draw(mapping) -> str:
    region_of = {
        code: (number, region_name, name)
        for number, region_name, jurisdictions in mapping
        for code, name in jurisdictions
    }
    finder = reverse("specialists")

    def tile(code: str, x: float, y: float) -> SafeString:
        number, region_name, name = region_of.get(code, (None, "", us.states.lookup(code).name))
        # The name starts with the tile's visible text (WCAG 2.5.3, label in name).
        if number is None:
            classes, mark = "rst-region-none rst-palette-none", ""
            label = f"{code}: {name}, not assigned to a region"
        else:
            classes, mark = f"rst-region-{number} {palette(number)}", str(number)
            label = f"{code} {number}: {name}, Region {number} – {region_name}"
        return format_html(
            '<a class="rst-tile {}" href="{}?{}" aria-label="{}" data-jurisdiction="{}">'
            '<rect class="rst-tile-bg" x="{}" y="{}" width="{}" height="{}" rx="4"/>'
            # The space: "MN 3" is the tile's text, which its name must contain.
            '<text class="rst-tile-code" x="{}" y="{}" text-anchor="middle">{}</text> '
            '<text class="rst-tile-region" x="{}" y="{}" text-anchor="middle">{}</text>'
            "</a>",
            classes,
            finder,
            urlencode({"jurisdiction": code}),
            label,
            code,
            x,
            y,
            TILE,
            TILE,
            x + TILE / 2,
            y + 21,
            code,
            x + TILE / 2,
            y + 39,
            mark,
        )

    def at(column: float, row: float) -> tuple[float, float]:
        return MARGIN + column * PITCH, MARGIN + row * PITCH

    tiles = [tile(code, *at(*GRID[code])) for code in tile_codes() if code in GRID]
    insets = []
    for caption, first_column, codes in INSETS:
        x, y = at(first_column, INSET_ROW)
        width = (len(codes) - 1) * PITCH + TILE
        insets.append(
            format_html(
                '<g class="rst-map-inset"><rect class="rst-map-inset-frame" x="{}" y="{}" '
                'width="{}" height="{}" rx="6"/>'
                '<text class="rst-map-inset-caption" x="{}" y="{}" aria-hidden="true">{}</text>'
                "{}</g>",
                x - 5,
                y - 24,
                width + 10,
                TILE + 29,
                x,
                y - 8,
                caption,
                mark_safe("".join(tile(code, x + i * PITCH, y) for i, code in enumerate(codes))),  # noqa: S308
            )
        )
    legend = format_html_join(
        "",
        '<li><span class="rst-swatch {}" aria-hidden="true">{}</span>Region {} – {}</li>',
        ((palette(number), number, number, name) for number, name, _ in mapping),
    )
    unassigned = [code for code in tile_codes() if code not in region_of]
    if unassigned:
        legend += format_html(
            '<li><span class="rst-swatch rst-palette-none" aria-hidden="true"></span>'
            "Not assigned to a region yet ({})</li>",
            ", ".join(unassigned),
        )
    return format_html(
        '<a class="visually-hidden-focusable" href="#after-region-map">Skip the map</a>'
        '<figure class="rst-map">'
        '<svg class="rst-map-svg" viewBox="0 0 {} {}" role="group" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}{}</svg>'
        '<figcaption><ul class="rst-map-legend list-unstyled" aria-label="Legend">{}</ul>'
        '<p class="small text-body-secondary mb-0">Each square is a state, DC or territory, '
        "with its postal code and region number; choose one to see its Resource Specialist. "
        "The territories are in the two boxes at the bottom.</p></figcaption>"
        "</figure>"
        '<span id="after-region-map" tabindex="-1"></span>',
        WIDTH,
        HEIGHT,
        "Map of the regions: one square per state, DC and territory, each a link",
        mark_safe("".join(tiles)),  # noqa: S308
        mark_safe("".join(insets)),  # noqa: S308
        legend,
    )
