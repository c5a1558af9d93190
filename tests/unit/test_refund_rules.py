"""The state rules file: the shipped one loads and cites every rule; a malformed copy is refused."""

import copy
import json
from decimal import Decimal

import pytest

from pipeline.refunds.rules import RULES_PATH, RulesError, load_rules, parse_rules


@pytest.fixture
def shipped() -> dict:
    return json.loads(RULES_PATH.read_text(encoding="utf-8"))


def test_the_shipped_rules_load_with_a_version():
    rules = load_rules()
    assert rules.version
    assert set(rules.states) >= {"AR", "CO", "NJ", "SC", "WI"}
    assert rules.get("nj") is rules.states["NJ"]
    assert rules.get("ZZ") is None and rules.get(None) is None


def test_every_rule_in_the_shipped_file_has_a_citation_and_an_address():
    rules = load_rules()
    for state in rules.states.values():
        cited = [state.free_look_days, state.cancellation_fee, state.required_method, state.method_floor,
                 state.partial_month_min_days, state.short_rate_table]
        for rule in filter(None, cited):
            assert rule.citation.text and rule.citation.url.startswith("http"), state.code


def test_the_figures_read_from_the_statutes():
    rules = load_rules()
    assert rules.get("NJ").cancellation_fee.value.amount == Decimal("50.00")
    assert rules.get("AR").cancellation_fee.value.amount == Decimal("75.00")
    assert rules.get("CO").cancellation_fee.value.amount == Decimal("25.00")
    assert rules.get("SC").cancellation_fee.value.kind == "ban"
    assert rules.get("NJ").required_method.value == "pro_rata"
    assert rules.get("WI").method_floor.value == "rule_of_78"
    assert rules.get("WI").partial_month_min_days.value == 16
    assert {code: rule.free_look_days.value for code, rule in rules.states.items() if rule.free_look_days} == {
        "AR": 30, "CO": 30, "NJ": 30, "NV": 30, "TX": 30, "UT": 30, "WI": 30}


def _refused(tmp_path, data: dict | str, *fragments: str) -> None:
    path = tmp_path / "state_rules.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    with pytest.raises(RulesError) as refused:
        load_rules(path)
    for fragment in fragments:
        assert fragment in str(refused.value)


@pytest.mark.parametrize(
    ("state", "key", "bad", "names"),
    [
        ("NJ", "cancellation_fee", {"rule": "cap", "amount": 50, "citation": "x", "url": "https://x.example"},
         "NJ.cancellation_fee.amount"),
        ("NJ", "cancellation_fee", {"rule": "cap", "amount": "50.00", "citation": "N.J. Stat."},
         "NJ.cancellation_fee.url"),
        ("AR", "free_look_days", {"value": "thirty", "citation": "x", "url": "https://x.example"},
         "AR.free_look_days.value"),
        ("AR", "free_look_days", {"value": 30, "url": "https://x.example"}, "AR.free_look_days.citation"),
        ("CO", "required_method", {"value": "straight_line", "citation": "x", "url": "https://x.example"},
         "CO.required_method.value"),
        ("SC", "cancellation_fee", {"rule": "ban", "amount": "10.00", "citation": "x", "url": "https://x.example"},
         "SC.cancellation_fee.amount"),
        ("SC", "cancellation_fee", {"rule": "maybe", "citation": "x", "url": "https://x.example"},
         "SC.cancellation_fee.rule"),
        ("WI", "partial_month_min_days", {"value": 40, "citation": "x", "url": "https://x.example"},
         "WI.partial_month_min_days.value"),
        ("WI", "short_rate_table", {"value": [[12, "0.5"], [24, "0.6"]], "citation": "x", "url": "https://x.example"},
         "WI.short_rate_table.value"),
        ("NV", "free_look_dayz", None, "NV.free_look_dayz"),
    ],
)
def test_a_malformed_copy_is_refused_naming_the_state_and_key(tmp_path, shipped, state, key, bad, names):
    data = copy.deepcopy(shipped)
    data["states"][state][key] = bad
    _refused(tmp_path, data, names)


def test_a_state_missing_a_key_is_refused(tmp_path, shipped):
    data = copy.deepcopy(shipped)
    del data["states"]["UT"]["cancellation_fee"]
    _refused(tmp_path, data, "UT.cancellation_fee", "missing")


def test_a_bad_state_code_or_version_is_refused(tmp_path, shipped):
    data = copy.deepcopy(shipped)
    data["states"]["New Jersey"] = data["states"].pop("NJ")
    _refused(tmp_path, data, "states.New Jersey")
    data = copy.deepcopy(shipped)
    data["rules_version"] = ""
    _refused(tmp_path, data, "rules_version")


def test_a_file_that_is_not_json_is_refused(tmp_path):
    _refused(tmp_path, "{not json", "not valid JSON")


def test_rules_parse_from_a_mapping_without_a_file():
    rules = parse_rules({"rules_version": "t", "states": {"XX": {"name": "Nowhere", "free_look_days": None,
                                                                 "cancellation_fee": None, "required_method": None}}})
    assert rules.get("xx").name == "Nowhere" and rules.get("xx").cancellation_fee is None
