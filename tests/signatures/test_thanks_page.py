"""The thanks page after confirming: the consents given on the form are recorded already, and it
says so (which ones), instead of asking for them again."""
import pytest

from ..conftest import VALID_PERSON, sign
from .test_confirmation import confirmation_path, press_confirm


@pytest.mark.parametrize(
    ("choices", "said"),
    [
        ({"contact_allowed": "y"}, "Komunikaty od koalicji: zgoda jest zapisana."),
        ({"public_name": ""}, "Komunikaty od koalicji: bez zgody nie będziemy ich wysyłać."),
    ],
)
def test_thanks_page_says_the_consents_are_recorded(app, client, coalition, choices, said):
    sign(client, **{**VALID_PERSON, **choices})
    confirmed = press_confirm(client, confirmation_path(app))
    assert confirmed.status_code == 303
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Dziękujemy! Podpis jest potwierdzony." in page
    assert "Zgody z formularza są już zapisane razem z podpisem." in page
    assert said in page
    hidden = choices.get("public_name") == ""
    assert ("nie pokażemy wpisu z nazwy" if hidden else "po zatwierdzeniu pokażemy wpis tak, jak wybrano") in page
    assert "zgodzisz" not in page  # nothing left to agree to
    # Opened again later, it still says the consents are recorded, without the details.
    again = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Zgody z formularza są już zapisane" in again and said not in again
