"""Sentence facts: speaker and pronoun resolution, dates, types, and no facts from noise."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.memory.consolidate import consolidate
from core.memory.facts import Voice, facts_from_text, third_person, well_formed
from core.memory.search import list_memories
from core.records import Observation

SAID = datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)  # Monday 8 May 2023
NOTE_DAY = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text,voice,expected", [
    ("I went to a support group yesterday and it was so powerful.", Voice("Caroline", "Melanie"),
     ["Caroline went to a support group on 7 May 2023 and it was so powerful."]),
    ("Yeah, I painted that lake sunrise last year! It's special to me.",
     Voice("Melanie", "Caroline"), ["Melanie painted that lake sunrise in 2022."]),
    ("I'm so proud of you for spreading awareness in the LGBTQ community.",
     Voice("Melanie", "Caroline"),  # "you" is the other person
     ["Melanie is so proud of Caroline for spreading awareness in the LGBTQ community."]),
    ("I love hiking in the mountains with my dog.", Voice("Ana", "Bo"),
     ["Ana loves hiking in the mountains with their dog."]),
    ("I've known these friends for 4 years, since I moved from my home country.",
     Voice("Caroline", "Melanie"),
     ["Caroline has known these friends for 4 years, since Caroline moved from their home "
      "country."]),
    ("We're thinking about going camping next month.", Voice("Melanie", "Caroline"),
     ["Melanie and others are thinking about going camping in June 2023."]),
    ("I moved to Porto last week.", Voice("You"), ["You moved to Porto in the week of 1 May 2023."]),
    ("I am learning the violin.", Voice("You"), ["You are learning the violin."]),
    ("Thanks, Caroline! How are you?", Voice("Melanie", "Caroline"), []),
    ("Did you go hiking last weekend?", Voice("Melanie", "Caroline"), []),
])
def test_speaker_and_pronoun_resolution(text: str, voice: Voice, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, voice, SAID)] == expected


def test_you_needs_someone_to_resolve_to() -> None:
    # In a group chat nobody is "you": the sentence is dropped rather than garbled.
    assert facts_from_text("I gave your book to my sister yesterday.", Voice("Ana"), SAID) == []
    assert third_person("I gave your book back", Voice("Ana", "Bo")) == "Ana gave Bo's book back"
    assert third_person("I think you are right", Voice("Ana", "Bo")) == "Ana thinks Bo is right"


def test_fact_kinds_and_dates() -> None:
    facts = facts_from_text(
        "I ran a charity race last Saturday. I'm going to Paris next month. "
        "I really enjoy reading fantasy novels at night.", Voice("Melanie", "Caroline"), SAID)
    assert [(f.kind, f.when.label if f.when else None) for f in facts] == [
        ("event", "6 May 2023"), ("plan", "June 2023"), ("preference", None)]
    assert facts[0].sentence == "I ran a charity race last Saturday."


@pytest.mark.parametrize("line", [
    "File Edit View Go Run Terminal Help",
    "~/src/engram $ git st | grep -v .pyc 12:04",
    "l| I Il ; i .. ,. ' I ll|",
    "Inbox (3) - ana@example.com - Mail",
    "x = np.dot(a, b)  # 0.3 ms",
    "EXPLORER  OUTLINE  TIMELINE  > src  > core",
    "I lI Il: mv I . I aa 3 %% I ran",
])
def test_ocr_noise_is_not_well_formed(line: str) -> None:
    assert not well_formed(line)
    assert facts_from_text(line, Voice("You"), SAID, require_well_formed=True) == []


def test_a_note_becomes_a_relation_fact_and_a_dated_event_fact(engine) -> None:
    engine.pipeline.submit([Observation(source="note", captured_at=NOTE_DAY,
                                        text="My sister Joana moved to Porto last week")])
    consolidate(engine, now=NOTE_DAY)
    memories = [m for m in list_memories(engine.store.reader(), include_all=True) if m.current]
    relation = [m for m in memories if m.fact_key == "self|relation:sister"]
    assert len(relation) == 1 and relation[0].fields["value"] == "Joana"
    assert relation[0].text == "Your sister is Joana."
    events = [m for m in memories if m.fields.get("kind") == "event"]
    assert len(events) == 1, [m.text for m in memories]
    event = events[0]
    assert event.text == "Your sister Joana moved to Porto in the week of 3 March 2025."
    assert event.fields["when"] == {"start": "2025-03-03", "end": "2025-03-10",
                                    "granularity": "week", "label": "the week of 3 March 2025"}
    assert event.fields["sentence"] == "My sister Joana moved to Porto last week"
    assert event.sources and relation[0].sources == event.sources


def test_screen_noise_makes_no_facts_but_written_sentences_do(engine) -> None:
    noise = ["File Edit View Go Run Terminal Help", "l| I Il ; i .. ,. ' I ll|",
             "EXPLORER  OUTLINE  TIMELINE  > src  > core", "I lI Il: mv I . I aa 3 %% I ran"]
    observations = [Observation(source="screen", captured_at=NOTE_DAY, text=line, app="Code",
                                title="notes.md") for line in noise]
    observations.append(Observation(
        source="file", captured_at=NOTE_DAY, path="/home/me/notes/trip.md",
        text="I booked the train to Porto for next Friday.\nl| I Il ; i .. ,. ' I ll|",
        external_id="/home/me/notes/trip.md#0"))
    engine.pipeline.submit(observations)
    consolidate(engine, now=NOTE_DAY)
    facts = [m for m in list_memories(engine.store.reader(), include_all=True)
             if m.type in ("semantic", "core")]
    assert [m.text for m in facts] == ["You booked the train to Porto for 14 March 2025."]


def test_a_dated_fact_found_by_search_leads_to_its_message(engine) -> None:
    from core.records import SearchFilters

    said = [("Caroline", "Hey Mel! Good to see you! How have you been?"),
            ("Melanie", "I'm swamped with the kids & work. What's up with you?"),
            ("Caroline", "I went to a LGBTQ support group yesterday and it was so powerful."),
            ("Melanie", "Wow, that's cool! Did you hear any inspiring stories?")]
    added = engine.pipeline.submit([
        Observation(source="chat", captured_at=SAID, text=text, speaker=who, thread="conv",
                    external_id=f"conv:{n}", meta={"session": "session_1"})
        for n, (who, text) in enumerate(said, 1)]).added
    consolidate(engine)  # learnt today about a day in 2023 (an old chat imported now)
    message = added[2]
    hits = engine.retriever.search("When did Caroline go to the LGBTQ support group?",
                                   SearchFilters(memory_types=("semantic",)), k=5)
    fact = next(h for h in hits if "support group" in h.text)
    assert fact.text == "Caroline went to a LGBTQ support group on 7 May 2023 and it was so powerful."
    assert fact.sources == (message,) and fact.to_json()["sources"] == [message]
    assert fact.provenance.external_id == "conv:3" and fact.provenance.speaker == "Caroline"


def test_the_core_profile_is_derived_from_facts_and_links_to_them(engine) -> None:
    from core.memory.profile import load_profile

    notes = ["My name is Rui Costa.", "My sister Joana moved to Porto last week.",
             "I work at Siemens as a data engineer.", "I live in Lisbon.",
             "I really enjoy hiking in the mountains with friends.",
             "I'm going to learn the piano next month."]
    engine.pipeline.submit([Observation(source="note", captured_at=NOTE_DAY + timedelta(minutes=n),
                                        text=t) for n, t in enumerate(notes)])
    consolidate(engine)
    profile = load_profile(engine.store.reader())
    assert profile.owner == "Rui Costa"
    texts = {s: [i.text for i in profile.section(s)] for s in
             ("people", "places", "work", "projects", "preferences")}
    assert texts["people"] == ["Joana, your sister"]
    assert texts["places"] == ["You live in Lisbon"] and texts["work"] == ["You work at Siemens"]
    assert any("hiking in the mountains" in t for t in texts["preferences"])
    assert any("piano" in t for t in texts["projects"])
    memories = {m.id: m for m in list_memories(engine.store.reader(), include_all=True)}
    for item in profile.items:  # every line leads to the facts it rests on
        assert item.memory_ids and all(i in memories for i in item.memory_ids)
    sister = profile.section("people")[0]
    assert memories[sister.memory_ids[0]].fields["value"] == "Joana"


def test_wanna_gotta_and_gonna_agree_with_a_third_person_subject() -> None:
    from datetime import date

    from core.memory.facts import Voice, facts_from_text

    said = facts_from_text("I wanna start a dance studio so I can teach others to dance. "
                           "I gotta finish my thesis by Friday.", Voice("Jon", "Gina"),
                           date(2023, 5, 1))
    assert [f.text for f in said] == [
        "Jon wants to start a dance studio so Jon can teach others to dance.",
        "Jon has to finish their thesis by Friday."]


@pytest.mark.parametrize("text,expected", [
    # The subject points at something said before: what "it" is, the fact cannot say.
    ("It retries with backoff, much nicer than our loop.", []),
    ("This one retries with backoff and I love it.", []),
    ("They moved to Berlin and I miss them.", []),
    ("She's my sister and I love her dearly.", []),
    ("That is my favourite hiking trail near Porto.", []),
    # After a comma the speaker is the subject: that part is a whole fact.
    ("It was great, I went hiking in the Alps with my dog.",
     ["Ben went hiking in the Alps with their dog."]),
    # A demonstrative before a noun names its thing; an "it" that stands for nothing stays.
    ("That lake sunrise I painted is special to me.",
     ["That lake sunrise Ben painted is special to Ben."]),
    ("It took me three years to finish my degree.",
     ["It took Ben three years to finish their degree."]),
    ("It's awesome seeing my vision for the store happen.",
     ["It's awesome seeing Ben's vision for the store happen."]),
    ("It's been tough but I am staying determined and focused.",
     ["Ben is staying determined and focused."]),
    ("It's been stressful, but dancing has kept me going.", ["Dancing has kept Ben going."]),
])
def test_a_pronoun_subject_pointing_elsewhere_is_not_a_fact(text: str, expected: list[str]) -> None:
    facts = facts_from_text(text, Voice("Ben", "Ana"), SAID, opinions=True)
    assert [f.text for f in facts] == expected


def test_an_unresolved_it_stays_a_message_and_becomes_no_memory(engine) -> None:
    from core.records import SearchFilters

    said = [("Ana", "Have you tried the tenacity library for the flaky uploads?"),
            ("Ben", "It retries with backoff, much nicer than our loop."),
            ("Ben", "I moved to Porto last week for the new job.")]
    added = engine.pipeline.submit([
        Observation(source="chat", captured_at=SAID, text=text, speaker=who, thread="t",
                    external_id=f"t:{n}") for n, (who, text) in enumerate(said, 1)]).added
    consolidate(engine, now=SAID)
    texts = [m.text for m in list_memories(engine.store.reader(), include_all=True)
             if m.type in ("semantic", "core")]
    assert not [t for t in texts if "backoff" in t]
    assert any(t.startswith("Ben moved to Porto") for t in texts)  # the rules still ran
    hits = engine.retriever.search("retries with backoff", SearchFilters(), k=5)
    assert any(h.id == added[1] for h in hits)


@pytest.mark.parametrize("text,expected", [
    # Chat leaves out the "I": put back, the verb agreeing.
    ("Researching adoption agencies — it's been a dream to have a family.",
     ["Caroline is researching adoption agencies."]),
    ("Been reading that book you recommended and painting to keep busy.",
     ["Caroline has been reading that book Melanie recommended and painting to keep busy."]),
    ("Just got some new shoes, too!", ["Caroline just got some new shoes."]),
    ("Made a new friend at the park yesterday.",
     ["Caroline made a new friend at the park on 7 May 2023."]),
    # A question after a dash is not part of the statement before it.
    ("FYI, I finished another pottery project - want to see a pic?",
     ["Caroline finished another pottery project."]),
    # A gerund that is the subject, or a thing, gets no "I".
    ("Painting is my escape from everything.", ["Painting is Caroline's escape from everything."]),
    ("Nothing much going on.", []),
    ("Wanna do a family outing this summer?", []),
])
def test_a_left_out_i_is_put_back(text: str, expected: list[str]) -> None:
    voice = Voice("Caroline", "Melanie")
    assert [f.text for f in facts_from_text(text, voice, SAID)] == expected


def test_yesterday_as_a_figure_of_speech_is_no_date() -> None:
    [fact] = facts_from_text("Time flies - feels like just yesterday I put this dress on!",
                             Voice("Melanie", "Caroline"), SAID)
    assert "yesterday" in fact.text and fact.when is None


@pytest.mark.parametrize("text,expected", [
    # A gerund or past-tense lead that is the subject, or an idiom, gets no "I".
    ("Seeing my students succeed motivates me.", ["Seeing Caroline's students succeed motivates Caroline."]),
    ("Made my day!", []),
    # A subject "you" agrees with its verb; an object "you" does not.
    ("I'm sure you feel great knowing your students are doing well.",
     ["Caroline is sure Melanie feels great knowing Melanie's students are doing well."]),
    ("I'm so proud of you for running the marathon.",
     ["Caroline is so proud of Melanie for running the marathon."]),
    # "You guys" is more people than the one addressed: no fact rather than a wrong one.
    ("I love you guys and I miss the beach.", []),
])
def test_subjects_and_verbs_agree(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("Caroline", "Melanie"), SAID)] == expected


@pytest.mark.parametrize("text,expected", [
    # Advice to the other person is said to them: "Gina told Jon to …".
    ("Keep learning and growing through it all.",
     ["Gina told Jon to keep learning and growing through it all."]),
    ("Never give up on your dreams!", ["Gina told Jon never to give up on Jon's dreams."]),
    ("Take a break and dance it out when you need to destress!",
     ["Gina told Jon to take a break and dance it out when Jon needs to destress."]),
    ("Keep it up!", []),  # nothing to remember
    ("Check this pic I got from the last networking event.", []),
    # "Gotta …", "Never had …": the speaker left out.
    ("Gotta figure out how to balance the studio and the shop.",
     ["Gina has to figure out how to balance the studio and the shop."]),
    ("Never had a chance to visit the new gallery.",
     ["Gina never had a chance to visit the new gallery."]),
])
def test_advice_and_left_out_subjects(text: str, expected: list[str]) -> None:
    voice = Voice("Gina", "Jon")
    assert [f.text for f in facts_from_text(text, voice, SAID, opinions=True)] == expected


def test_advice_needs_someone_it_was_given_to() -> None:
    assert facts_from_text("Keep learning and growing through it all.", Voice("Gina"), SAID,
                           opinions=True) == []


@pytest.mark.parametrize("text,expected", [
    # What the speaker says about the person they talk to, and thanks, attributed.
    ("Definitely, John! Your commitment to helping others is inspiring.",
     ["Maria thinks John's commitment to helping others is inspiring."]),
    ("Hey John, thanks for being there for me and believing in me. It means a lot.",
     ["Maria thanked John for being there for Maria and believing in Maria."]),
    ("It's really inspiring to see someone staying optimistic even when things get tough.",
     ["Maria thinks it's really inspiring to see someone staying optimistic even when things "
      "get tough."]),
    ("Wow! You've got drive! Keep it up and you'll definitely make a splash.", []),
    ("Thanks!", []),
])
def test_what_is_said_to_the_other_person(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("Maria", "John"), SAID,
                                            opinions=True)] == expected
    # Said in a group (nobody to resolve "you" to): nothing about "you".
    assert all("John" not in f.text for f in facts_from_text(text, Voice("Maria"), SAID,
                                                             opinions=True))


@pytest.mark.parametrize("text,expected", [
    # Only a capitalised name before punctuation is a vocative after an interjection.
    ("And LeBron is the man - love his skills and leadership.",
     ["John said LeBron is the man - love his skills and leadership."]),
    ("Sorry to hear about the job, but your positivity will help you find something great!", []),
    ("Thanks Tim, I painted the whole studio last week.",
     ["John painted the whole studio in the week of 1 May 2023."]),
    ("Keep doing what you love.", ["John told Tim to keep doing what Tim loves."]),
    ("Put in a ton of late nights and edits but finally got it done.", []),
])
def test_leads_vocatives_and_what_is_not_advice(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("John", "Tim"), SAID,
                                            opinions=True)] == expected


def test_a_judgement_is_what_the_speaker_thinks_a_report_what_they_said() -> None:
    voice = Voice("Melanie", "Caroline")
    assert [f.text for f in facts_from_text("Family moments make life awesome.", voice, SAID,
                                            opinions=True)] == [
        "Melanie thinks family moments make life awesome."]
    assert [f.text for f in facts_from_text(
        "People marched through the streets waving flags and holding signs.", voice, SAID,
        opinions=True)] == ["Melanie said people marched through the streets waving flags and "
                            "holding signs."]


@pytest.mark.parametrize("text,expected", [
    ("Dyed my hair last week - come see!", ["Joanna dyed their hair in the week of 1 May 2023."]),
    ("Took me ages to finish the painting.", ["It took Joanna ages to finish the painting."]),
    # A name that begins the sentence keeps its capital; a vocative at the end goes.
    ("Nate's cooking is always great and so creative.",
     ["Joanna thinks Nate's cooking is always great and so creative."]),
    ("My support makes a real difference, Nate.", ["Joanna's support makes a real difference."]),
    ("Seeing your hard work pay off like that must've felt amazing.", []),
])
def test_names_vocatives_and_left_out_subjects(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("Joanna", "Nate"), SAID,
                                            opinions=True)] == expected


def test_a_short_name_as_vocative_and_gladness() -> None:
    voice = Voice("Caroline", "Melanie")
    assert [f.text for f in facts_from_text(
        "Wow, Mel, your painting of the lake at sunrise is so peaceful and colorful.", voice,
        SAID, opinions=True)] == [
        "Caroline said Melanie's painting of the lake at sunrise is so peaceful and colorful."]
    assert [f.text for f in facts_from_text(
        "Glad you found something that makes you so happy.", voice, SAID, opinions=True)] == [
        "Caroline is glad Melanie found something that makes Melanie so happy."]


@pytest.mark.parametrize("text,expected", [
    ("Cheers, Nate! Your support means a lot.", ["Joanna appreciates Nate's support."]),
    ("But I appreciate your kind words and encouragement.",
     ["Joanna appreciates Nate's kind words and encouragement."]),
    ("I appreciate it!", []),
])
def test_appreciation_of_the_other_person(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("Joanna", "Nate"), SAID,
                                            opinions=True)] == expected
    assert facts_from_text(text, Voice("Joanna"), SAID, opinions=True) == []  # whose support?


@pytest.mark.parametrize("text,expected", [
    ("Crossing my fingers for you and the new studio!",
     ["Joanna is crossing their fingers for Nate and the new studio."]),
    ("Gonna be a big change for the whole family.", []),  # what is? the sentence cannot say
    ("Walking my dog every morning keeps me sane.",
     ["Walking Joanna's dog every morning keeps Joanna sane."]),
])
def test_a_gerund_lead_with_my(text: str, expected: list[str]) -> None:
    assert [f.text for f in facts_from_text(text, Voice("Joanna", "Nate"), SAID,
                                            opinions=True)] == expected
