"""The program contacts from the source documents, and how the public pages show them."""

import pytest

from contacts.models import ProgramContact

pytestmark = pytest.mark.usefixtures("reference_data")


def test_program_contacts_match_the_documents():
    assert set(ProgramContact.objects.values_list("role", "email")) == {
        ("director", "masnow@ncmec.org"),
        ("supervisor", "sasahl@ncmec.org"),
        ("mailbox", "RecoveryServices@NCMEC.ORG"),
    }


def test_contacts_are_shown_in_their_order_with_their_titles(client):
    names = [contact.display_name for contact in ProgramContact.objects.all()]
    assert names[0].startswith("Melissa Snow")
    text = client.get("/specialists/").content.decode().split("Program contacts")[1]
    positions = [text.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Executive Director" in text
