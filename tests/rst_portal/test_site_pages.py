"""The public information pages and the specialist finder (the health check: test_healthz.py)."""

import pytest

from regions.models import Jurisdiction

pytestmark = pytest.mark.usefixtures("reference_data")


def test_home_page_says_what_rst_offers(client, django_assert_num_queries):
    # Services, regions, their specialists, their jurisdictions, program contacts.
    with django_assert_num_queries(5):
        response = client.get("/")
    text = response.content.decode()
    assert response.status_code == 200
    assert (
        "Case-based assistance developing trauma-informed, victim-centered recovery plans" in text
    )
    assert "Why recovery planning?" in text and "a pause in victimization" in text
    assert "Addressing Child Sex Trafficking: Risk Factors, Recognition and Response" in text
    assert "Samantha Sahl, DSW, LCSW" in text and "RecoveryServices@NCMEC.ORG" in text
    assert "provisional until confirmed by the RST supervisor" in text
    assert 'href="/refer/"' in text


def test_specialist_finder_answers_for_one_state(client):
    response = client.get("/specialists/?jurisdiction=mn")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Minnesota is in Region 3 – Midwest" in text
    assert "SLSchultz@ncmec.org" in text


def test_specialist_finder_unknown_code(client):
    response = client.get("/specialists/?jurisdiction=ZZ")
    assert response.status_code == 404
    assert "is not a U.S. state or territory code we know" in response.content.decode()


def test_specialist_finder_unmapped_jurisdiction(client):
    Jurisdiction.objects.filter(code="GU").update(region=None)
    response = client.get("/specialists/?jurisdiction=GU")
    assert "Guam is not assigned to a region yet" in response.content.decode()


def test_specialist_finder_query_count(client, django_assert_num_queries):
    with django_assert_num_queries(5):
        client.get("/specialists/?jurisdiction=MN")


def test_specialists_json(client):
    data = client.get("/specialists.json").json()
    assert [r["number"] for r in data["regions"]] == [1, 2, 3, 4, 5]
    region3 = data["regions"][2]
    assert region3["specialists"] == [
        {"name": "Stacy Schultz", "email": "SLSchultz@ncmec.org", "phone": "612.757.6586"}
    ]
    assert "MN" in [j["code"] for j in region3["jurisdictions"]]
    assert sum(len(r["jurisdictions"]) for r in data["regions"]) == 56
    assert {c["role"] for c in data["program_contacts"]} == {
        "Executive Director",
        "RST Supervisor",
        "Team mailbox",
    }


def test_content_security_policy_allows_only_the_sites_own_files(client):
    policy = client.get("/refer/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
