"""Kraków's 18 districts (dzielnice): the one place the app knows them.

A signature stores the district's full name, e.g. "XIII Podgórze"; the public list's filter
uses its slug (`?dzielnica=xiii-podgorze`), readable in a link.
"""
from slugify import slugify

from ..text import search_key

KRAKOW = "Kraków"

DISTRICTS = (
    "I Stare Miasto",
    "II Grzegórzki",
    "III Prądnik Czerwony",
    "IV Prądnik Biały",
    "V Krowodrza",
    "VI Bronowice",
    "VII Zwierzyniec",
    "VIII Dębniki",
    "IX Łagiewniki-Borek Fałęcki",
    "X Swoszowice",
    "XI Podgórze Duchackie",
    "XII Bieżanów-Prokocim",
    "XIII Podgórze",
    "XIV Czyżyny",
    "XV Mistrzejowice",
    "XVI Bieńczyce",
    "XVII Wzgórza Krzesławickie",
    "XVIII Nowa Huta",
)

DISTRICT_SLUGS = {slugify(name): name for name in DISTRICTS}


def is_krakow(city):
    """`Kraków`, `krakow`, ` KRAKÓW ` all name Kraków."""
    return search_key(city or "").strip() == search_key(KRAKOW)


def district_slug(name):
    return slugify(name)


def district_from_slug(slug):
    """The district a filter link names, or "" for anything else."""
    return DISTRICT_SLUGS.get(slug or "", "")
