"""Retrieval over a contract's text, the offline answerer, the chat prompt and source checking."""

import pytest

from pipeline.chat.job import verified_sources
from pipeline.providers.base import ChatRequest, ChatTurn, Passage, ProviderError
from pipeline.providers.local import answerer as local_chat
from pipeline.providers.prompts.chat import QUESTION_MARKER, answer_from_arguments, conversation
from pipeline.seed.demo import demo_contracts
from pipeline.text import passages as retrieval

DEMOS = demo_contracts()


def _request(demo, question, **changes):
    facts = {k: demo.get(k) for k in ("account_number", "customer_name", "vehicle", "dealer", "lender", "contract_start_date", "term_months", "state")}
    return ChatRequest(question=question, document_text=demo["document_text"], contract=facts, **changes)


@pytest.mark.parametrize("demo", DEMOS[:6], ids=lambda d: d["account_number"])
def test_passages_and_sentences_are_slices_of_the_text(demo):
    text = demo["document_text"]
    for passage in retrieval.passages(text) + retrieval.sentences(text):
        assert text[passage.start:passage.end] == passage.text and passage.text.strip() == passage.text
    assert all(len(p.text) <= retrieval.MAX_PASSAGE_CHARS or "." not in p.text[:-1] for p in retrieval.passages(text))


def test_a_long_paragraph_is_cut_at_sentence_ends():
    text = " ".join(f"Sentence number {i} says something about refunds." for i in range(60))
    pieces = retrieval.passages(text, max_chars=300)
    assert len(pieces) > 5 and all(len(p.text) <= 300 for p in pieces)
    assert all(p.text.endswith(".") for p in pieces)
    assert "".join(text[p.start:p.end] for p in pieces).replace(" ", "") == text.replace(" ", "")


def test_rank_puts_the_passage_about_the_question_first():
    text = DEMOS[0]["document_text"]
    best = retrieval.rank("How is the refund calculated?", retrieval.sentences(text))[0]
    assert "pro rata" in best.passage.text and best.coverage >= 0.5
    # Synonyms: "cost" finds the GAP charge.
    assert "$795.00" in retrieval.rank("what did the coverage cost", retrieval.sentences(text))[0].passage.text
    assert retrieval.rank("roadside assistance", retrieval.sentences(text)) == []


def test_select_keeps_a_short_contract_whole_and_a_long_one_within_budget():
    text = DEMOS[0]["document_text"]
    assert "".join(p.text for p in retrieval.select("fee?", text, budget=100_000)) == "".join(p.text for p in retrieval.passages(text))
    padding = "\n\n".join(f"{i}. MISCELLANEOUS. Clause {i} is about the weather and sports." for i in range(20, 400))
    long_text = text + "\n\n" + padding
    chosen = retrieval.select("What is the cancellation fee?", long_text, budget=1500)
    assert sum(len(p.text) for p in chosen) <= 1500
    assert any("cancellation fee of $50.00" in p.text for p in chosen)
    assert [p.start for p in chosen] == sorted(p.start for p in chosen)


@pytest.mark.parametrize("demo", DEMOS, ids=lambda d: d["account_number"])
def test_local_answerer_quotes_the_contract_for_the_refund_terms(demo):
    expected = demo["expected"]
    text, quotes, answered = local_chat.answer(_request(demo, "What is the cancellation fee?"))
    if expected["cancellation_fee"] is None:
        assert not answered and quotes == () and text == "The contract does not state a cancellation fee."
        return
    assert answered and quotes
    assert all(q in demo["document_text"] for q in quotes)
    if expected["cancellation_fee"] == "0.00":
        assert "no cancellation fee" in text
    elif expected["cancellation_fee"]:
        assert f"{float(expected['cancellation_fee']):,.2f}" in text


def test_local_answerer_prefers_the_extraction_and_says_whose_values_they_are():
    demo = DEMOS[0]
    extraction = {"status": "approved", "fields": {
        "gap_insurance_premium": {"value": "800.00", "quote": "The GAP charge is $795.00."},
        "refund_calculation_method": {"value": "pro_rata", "quote": None},
        "cancellation_fee": {"value": "50.00", "quote": None},
    }}
    text, quotes, answered = local_chat.answer(_request(demo, "What is the GAP premium?", extraction=extraction))
    assert answered and "$800.00" in text and "approved by a reviewer" in text
    assert quotes == ("The GAP charge is $795.00.",)


def test_local_answerer_says_plainly_when_the_contract_does_not_answer():
    text, quotes, answered = local_chat.answer(_request(DEMOS[0], "Does it include roadside assistance and tire rotation?"))
    assert not answered and quotes == ()
    assert text == local_chat.NOT_ANSWERED


def test_local_answerer_retrieves_sentences_and_reads_contract_details():
    demo = DEMOS[0]
    text, quotes, answered = local_chat.answer(_request(demo, "Can they cancel within 30 days for a full refund?"))
    assert answered and "within 30 days" in quotes[0]
    text, quotes, answered = local_chat.answer(_request(demo, "Which vehicle is it?"))
    assert "Camry" in text and quotes and "4T1G11AK4NU624817" in quotes[0]


def test_verified_sources_keep_only_passages_of_the_document():
    text = "GAP WAIVER.\nThe GAP charge is $795.00.  A cancellation fee of $50.00 applies."
    sources, dropped = verified_sources(
        ["The GAP charge is $795.00.", "the gap   charge is $795.00.", "A fee of $75.00 applies.", ""], text
    )
    assert dropped == 2
    assert sources == [{"quote": "The GAP charge is $795.00.", "start": 12, "end": 38}]
    assert all(text[s["start"]:s["end"]] == s["quote"] for s in sources)


def test_conversation_alternates_and_ends_with_the_context():
    request = ChatRequest(
        question="And the fee?",
        passages=(Passage(0, 5, "Hello"),),
        history=(ChatTurn("assistant", "Hi"), ChatTurn("user", "What is the premium?"), ChatTurn("user", "Please answer"),
                 ChatTurn("assistant", "It is $795.00.")),
        contract={"account_number": "4350948342", "vehicle": {"year": 2022, "make": "Toyota", "model": "Camry", "vin": "X1"}},
    )
    turns = conversation(request)
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[2]["content"] == "What is the premium?\n\nPlease answer"
    last = turns[-1]["content"]
    assert last.endswith(f"{QUESTION_MARKER} And the fee?")
    assert '<passage start="0" end="5">\nHello\n</passage>' in last and "2022 Toyota Camry (VIN X1)" in last


@pytest.mark.parametrize("arguments", ["{not json", [], {"answered": True}, {"answer": "x", "answered": "yes"}, {"answer": "x", "quotes": "q"}])
def test_malformed_chat_answers_are_provider_errors(arguments):
    with pytest.raises(ProviderError) as caught:
        answer_from_arguments(arguments)
    assert caught.value.retryable


def test_a_well_formed_chat_answer_is_read():
    assert answer_from_arguments('{"answer": " Yes. ", "answered": true, "quotes": ["a", 3, " "]}') == ("Yes.", ("a",), True)
