"""The tile map of the regions on the finder and the home page (regions/map.py)."""

import re
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import pytest
import us
from django.conf import settings

from regions import map as region_map
from regions.models import Jurisdiction, Region
from regions.reference import PROVISIONAL_REGIONS
from tests.helpers import page_text

pytestmark = pytest.mark.usefixtures("reference_data")

ALL_CODES = sorted(state.abbr for state in us.states.STATES_AND_TERRITORIES)
REGION_OF = {
    code: number for number, (_name, codes) in PROVISIONAL_REGIONS.items() for code in codes.split()
}


class Tiles(HTMLParser):
    """The map's tiles: {code: (classes, href, aria-label, texts)} and their order."""

    def __init__(self):
        super().__init__()
        self.tiles, self.order, self._current = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "rst-tile" in attrs.get("class", "").split():
            code = attrs["data-jurisdiction"]
            self._current = code
            self.order.append(code)
            self.tiles[code] = {
                "classes": set(attrs["class"].split()),
                "href": attrs["href"],
                "label": attrs["aria-label"],
                "texts": [],
            }

    def handle_endtag(self, tag):
        if tag == "a":
            self._current = None

    def handle_data(self, data):
        if self._current and data.strip():
            self.tiles[self._current]["texts"].append(data.strip())


def tiles_of(response) -> Tiles:
    parser = Tiles()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture(autouse=True)
def _fresh_map_cache():
    from django.core.cache import caches

    caches["local"].clear()


def test_the_finder_has_one_tile_for_each_of_the_56_jurisdictions(client):
    tiles = tiles_of(client.get("/specialists/"))
    assert sorted(tiles.tiles) == ALL_CODES
    assert len(tiles.order) == 56  # no tile twice


@pytest.mark.parametrize("code", ALL_CODES)
def test_each_tile_is_in_its_regions_class_and_links_to_its_answer(client, code):
    tile = tiles_of(client.get("/specialists/")).tiles[code]
    number = REGION_OF[code]
    assert f"rst-region-{number}" in tile["classes"]
    assert tile["href"] == f"/specialists/?jurisdiction={code}"
    # The region number is in the tile, so colour is not the only cue.
    assert tile["texts"][-2:] == [code, str(number)]
    region = Region.objects.get(number=number)
    name = Jurisdiction.objects.get(code=code).name
    assert tile["label"] == f"{code} {number}: {name}, Region {number} – {region.name}"
    answer = client.get(tile["href"])
    assert f"{name} is in {region}" in page_text(answer)


def test_the_territories_are_in_the_insets_after_the_states(client):
    order = tiles_of(client.get("/specialists/")).order
    assert order[-5:] == ["GU", "MP", "AS", "PR", "VI"]
    text = client.get("/specialists/").content.decode()
    assert ">Pacific</text>" in text and ">Caribbean</text>" in text


def test_the_legend_names_every_region(client):
    text = page_text(client.get("/specialists/"))
    legend = text.split("Skip the map")[1]
    for region in Region.objects.all():
        assert f"{region.number} Region {region.number} – {region.name}" in legend


def test_the_map_changes_when_the_mapping_changes(client):
    assert "rst-region-3" in tiles_of(client.get("/specialists/")).tiles["MN"]["classes"]
    # As the admin's list edit saves it ...
    minnesota = Jurisdiction.objects.get(code="MN")
    minnesota.region = Region.objects.get(number=5)
    minnesota.save()
    tile = tiles_of(client.get("/specialists/")).tiles["MN"]
    assert "rst-region-5" in tile["classes"] and tile["texts"][-1] == "5"
    # ... and as a bulk update does (no signal).
    Jurisdiction.objects.filter(code="MN").update(region=None)
    tile = tiles_of(client.get("/")).tiles["MN"]
    assert "rst-region-none" in tile["classes"]
    assert tile["label"] == "MN: Minnesota, not assigned to a region"
    assert tile["texts"][-1] == "MN"  # no region number
    assert "Not assigned to a region yet (MN)" in page_text(client.get("/specialists/"))


def test_a_renamed_region_changes_the_map(client):
    Region.objects.filter(number=3).update(name="Upper Midwest")
    tile = tiles_of(client.get("/specialists/")).tiles["MN"]
    assert tile["label"] == "MN 3: Minnesota, Region 3 – Upper Midwest"


def test_the_map_is_drawn_once_per_mapping(client):
    with mock.patch.object(region_map, "_draw", wraps=region_map._draw) as draw:
        client.get("/specialists/")
        client.get("/")
        client.get("/specialists/?jurisdiction=MN")
        assert draw.call_count == 1
        Jurisdiction.objects.filter(code="MN").update(region=Region.objects.get(number=2))
        client.get("/specialists/")
        assert draw.call_count == 2


def test_the_home_page_has_the_map_and_its_text_equivalent(client):
    response = client.get("/")
    assert sorted(tiles_of(response).tiles) == ALL_CODES
    text = page_text(response)
    assert "Region 3: " in text and "Minnesota" in text.split("Region 3: ")[1].split("Region 4")[0]


def test_the_finder_keeps_its_table_of_regions_as_the_text_equivalent(client):
    text = page_text(client.get("/specialists/"))
    regions_part = text.split("Regions and their states")[1]
    for region in Region.objects.prefetch_related("jurisdictions"):
        assert str(region) in regions_part
        for jurisdiction in region.jurisdictions.all():
            assert jurisdiction.name in regions_part


def test_the_map_costs_no_query(client, django_assert_num_queries):
    # As before the map: services, regions, specialists, jurisdictions, program contacts.
    with django_assert_num_queries(5):
        client.get("/")
    with django_assert_num_queries(5):
        client.get("/specialists/?jurisdiction=MN")


def test_the_svg_has_no_inline_style_or_script(client):
    svg = re.search(r"<svg.*?</svg>", client.get("/specialists/").content.decode(), re.S).group()
    assert "style=" not in svg and "<script" not in svg and "<style" not in svg


def test_every_region_colour_has_3_to_1_contrast_with_the_page_and_the_labels():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text()
    fills = dict(re.findall(r"\.rst-palette-(\w+) \.rst-tile-bg[^{]*\{ fill: (#[0-9a-f]{6})", css))
    assert set(fills) == {"1", "2", "3", "4", "5", "6", "none"}
    for name, colour in fills.items():
        # White is both the page behind the tiles and the colour of their labels; the
        # labels are small text, so they need 4.5:1 (more than the 3:1 for the tiles).
        assert contrast(colour, "#ffffff") >= 4.5, name


def contrast(a: str, b: str) -> float:
    def luminance(colour):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)
