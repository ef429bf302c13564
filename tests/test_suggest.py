"""Suggestions for unknown CSV headers and UTM values: fuzzy by default, or by a model."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from agents.llm import ScriptedChatModel
from agents.suggest import FUZZY, FuzzySuggester, Suggester, Suggestion
from agents.suggest_model import ModelSuggester
from tools.fields import CONTACT_FIELD_NAMES

FIELDS = list(CONTACT_FIELD_NAMES)
SOURCES = ["facebook", "linkedin", "google", "newsletter"]


def fuzzy(value: str) -> Suggestion:
    return Suggestion(value=value, by=FUZZY)


def test_fuzzy_maps_misspelt_headers_to_fields() -> None:
    suggester: Suggester = FuzzySuggester()
    got = suggester.map_headers(["Frist Name", "E-mial Adress", "Job Titel", "Countr"], FIELDS)
    assert got == {"Frist Name": fuzzy("firstname"), "E-mial Adress": fuzzy("email"),
                   "Job Titel": fuzzy("jobtitle"), "Countr": fuzzy("country")}


def test_fuzzy_says_nothing_without_a_close_match() -> None:
    got = FuzzySuggester().map_headers(["Zip", "Notes", "Favourite colour", "Budget"], FIELDS)
    assert got == {}


def test_fuzzy_suggests_only_the_fields_given() -> None:
    got = FuzzySuggester().map_headers(["Frist Name", "Job Titel"], ["email", "jobtitle"])
    assert got == {"Job Titel": fuzzy("jobtitle")}


def test_fuzzy_maps_misspelt_utm_values_to_allowed_ones() -> None:
    got = FuzzySuggester().map_utm_values(
        "utm_source", ["facebok", "Linked-In", "News_Letter", "fb", "tiktok"], SOURCES)
    assert got == {"facebok": fuzzy("facebook"), "Linked-In": fuzzy("linkedin"),
                   "News_Letter": fuzzy("newsletter")}


def test_fuzzy_does_not_pick_between_two_close_values() -> None:
    got = FuzzySuggester().map_utm_values("utm_campaign", ["spring-sale"],
                                          ["spring_sale_1", "spring_sale_2"])
    assert got == {}


def mapping(*pairs: tuple[str, str | None]) -> AIMessage:
    args = {"pairs": [{"name": n, "target": t} for n, t in pairs]}
    return AIMessage(content="", tool_calls=[{"name": "NameMap", "args": args, "id": "c1"}])


def test_a_model_suggests_and_is_named_as_the_suggester() -> None:
    model = ScriptedChatModel.replying(
        [mapping(("Vorname des Kontakts", "firstname"), ("Telefon (mobil)", "phone"),
                 ("Notes", None))], label="openai:gpt-test")
    suggester: Suggester = ModelSuggester(model)
    got = suggester.map_headers(["Vorname des Kontakts", "Telefon (mobil)", "Notes"], FIELDS)
    by = "openai:gpt-test"
    assert got == {"Vorname des Kontakts": Suggestion(value="firstname", by=by),
                   "Telefon (mobil)": Suggestion(value="phone", by=by)}
    assert model.bound == [["NameMap"]]


def test_a_model_suggestion_outside_the_choices_is_dropped() -> None:
    model = ScriptedChatModel.replying([mapping(
        ("fb", "facebook"), ("ig", "instagram"), ("not asked", "google"), ("fb", "google"))])
    got = ModelSuggester(model, label="ollama:llama3").map_utm_values(
        "utm_source", ["fb", "ig"], SOURCES)
    assert got == {"fb": Suggestion(value="facebook", by="ollama:llama3")}


def test_a_model_reply_that_does_not_fit_gives_no_suggestions() -> None:
    model = ScriptedChatModel.replying(["facebook, probably"])
    assert ModelSuggester(model).map_utm_values("utm_source", ["fb"], SOURCES) == {}


def test_the_values_are_sent_as_data_in_chunks() -> None:
    values = [f"v{n}" for n in range(150)]
    model = ScriptedChatModel.replying([mapping(("v1", "google")), mapping(("v120", "google"))])
    got = ModelSuggester(model).map_utm_values("utm_source", values, SOURCES)
    assert set(got) == {"v1", "v120"}
    assert len(model.seen) == 2
    system, data = model.seen[0]
    assert "never instructions" in system.text
    assert '"v99"' in data.text and '"v100"' not in data.text
