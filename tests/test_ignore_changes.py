"""preflight's port of the engine's ignoreChanges (PropertyPath.Reset, processIgnoreChanges), checked
against the cases of pulumi's own TestReset (sdk/go/common/resource/properties_path_test.go) and on
the listener rule shapes a deployment strategy switch produces."""

from __future__ import annotations

import copy

import pytest

from preflight.ignore_changes import SECRET_SIG, SECRET_VALUE, PathError, parse_path, process, reset


def secret(value):
    return {SECRET_SIG: SECRET_VALUE, "value": value}


FAILS = None
# (name, path, old, new, expected new, or FAILS for a path error) - pulumi's TestReset, case for case.
GO_CASES = [
    ("Missing key, not in object", ["missing"], {"root": 1}, {"root": 2}, {"root": 2}),
    ("Missing key, not an object", ["root", "missing"], {"root": 1}, {"root": 2}, {"root": 2}),
    ("Missing index, changed from an object", ["root", "nested"], {"root": {"nested": 1}}, {"root": 2}, FAILS),
    ("Missing index, changed to an object", ["root", "nested"], {"root": 1}, {"root": {"nested": 2}}, {"root": {}}),
    ("Missing key along path, not in object", ["missing", "path"], {"root": 1}, {"root": 2}, {"root": 2}),
    ("Missing key along path, not an object", ["root", "missing", "path"], {"root": 1}, {"root": 2}, {"root": 2}),
    ("Missing index, not in array", ["array", 1], {"array": [1]}, {"array": [1]}, {"array": [1]}),
    ("Missing index, not an array", ["root", 0], {"root": 1}, {"root": 2}, {"root": 2}),
    ("Missing index, changed from an array", ["root", 0], {"root": [1]}, {"root": 2}, FAILS),
    ("Missing index, changed to an array", ["root", 0], {"root": 1}, {"root": [2]}, FAILS),
    ("Invalid index, not in array", ["array", -1], {"array": [1]}, {"array": [1]}, FAILS),
    ("Invalid index, not an array", ["root", -1], {"root": 1}, {"root": 2}, FAILS),
    ("Index out of bound in old", ["root", 1], {"root": [2]}, {"root": [3, 4]}, FAILS),
    ("Index out of bound in new", ["root", 1], {"root": [1, 2]}, {"root": [3]}, FAILS),
    ("Missing index along path", ["root", 0, "other"], {"root": {"nested": 1}}, {"root": {"nested": 2}},
     {"root": {"nested": 2}}),
    ("Index out of bound in old along path", ["root", 1, "nested"], {"root": [{"nested": 1}]},
     {"root": [{"nested": 3}, {"nested": 4}]}, FAILS),
    ("Index out of bound in new along path", ["root", 1, "nested"], {"root": [{"nested": 1}, {"nested": 2}]},
     {"root": [{"nested": 3}]}, FAILS),
    ("Single path element", ["root"], {"root": 1}, {"root": 2}, {"root": 1}),
    ("Nested path element, changed", ["root", "nested"], {"root": {"nested": 1}}, {"root": {"nested": 2}},
     {"root": {"nested": 1}}),
    ("Nested path element, added", ["root", "nested"], {"root": {}}, {"root": {"nested": 2}}, {"root": {}}),
    ("Nested path element, removed", ["root", "nested"], {"root": {"nested": 1}}, {"root": {}},
     {"root": {"nested": 1}}),
    ("Nested path element, fully removed", ["root", "nested"], {"root": {"nested": 1}}, {}, FAILS),
    ("Nested path element, nested added", ["root", "nested"], {}, {"root": {"nested": 2}}, {"root": {}}),
    ("Nested path element, nested removed", ["root", "nested"], {"root": {"nested": 1}}, {}, FAILS),
    ("Array index", ["array", 0], {"array": [1]}, {"array": [2]}, {"array": [1]}),
    ("Array index, along path", ["array", 0, "item"], {"array": [{"item": 1}]}, {"array": [{"item": 2}]},
     {"array": [{"item": 1}]}),
    ("Array index, added", ["array", 0], {"array": []}, {"array": [2]}, FAILS),
    ("Array index, removed", ["array", 0], {"array": [1]}, {"array": []}, FAILS),
    ("Single wildcard at root", ["*"], {"root": 1}, {"root": 2}, {"root": 1}),
    ("Wildcard followed by path element", ["*", "nested"], {"root": {"nested": 1}}, {"root": {"nested": 2}},
     {"root": {"nested": 1}}),
    ("Wildcard in array followed by path element", ["root", "*", "nested"],
     {"root": [{"nested": 1}, {"nested": 2}]}, {"root": [{"nested": 3}, {"nested": 4}]},
     {"root": [{"nested": 1}, {"nested": 2}]}),
    ("Nested wildcard", ["root", "*"], {"root": {"nested": 1}}, {"root": {"nested": 2}}, {"root": {"nested": 1}}),
    ("Nested wildcard in array", ["root", "*"], {"root": [1, 2]}, {"root": [3, 4]}, {"root": [1, 2]}),
    ("Nested wildcard, added", ["root", "*"], {"root": {}}, {"root": {"nested": 2}}, {"root": {}}),
    ("Nested wildcard, removed", ["root", "*"], {"root": {"nested": 2}}, {"root": {}}, {"root": {"nested": 2}}),
    ("Nested wildcard, change of type (array)", ["root", "*"], {"root": [1]}, {"root": {"nested": 2}},
     {"root": {"nested": 2}}),
    ("Nested wildcard, change of type (object)", ["root", "*"], {"root": {"nested": 2}}, {"root": [1]},
     {"root": [1]}),
    ("Nested wildcard, change of type (number)", ["root", "*"], {"root": {"nested": 2}}, {"root": 1}, FAILS),
    ("Untraversable in old wildcard followed by path element", ["root", "*", "nested"], {"root": 1},
     {"root": {"nested": 2}}, FAILS),
    ("Untraversable in new (not an object) wildcard followed by path element", ["root", "*", "nested"],
     {"root": {"nested": 1}}, {"root": 2}, FAILS),
    ("Untraversable in new (missing) wildcard followed by path element", ["root", "*", "nested"],
     {"root": {"nested": 1}}, {"root": {}}, FAILS),
    ("Nested object wildcard index reset fails", ["root", "*", 0], {"root": {"passes": 1, "fails": [1]}},
     {"root": {"passes": 2, "fails": []}}, FAILS),
    ("Nested array wildcard, new array is shorter fails", ["root", "array", "*"], {"root": {"array": [1]}},
     {"root": {"array": []}}, FAILS),
    ("Nested array wildcard index reset fails", ["root", "*", 0], {"root": [1, [1]]}, {"root": [2, []]}, FAILS),
    ("Nested array wildcard index, old array is longer fails", ["root", "*", 0], {"root": [1, 2]},
     {"root": secret([3])}, FAILS),
    ("Nested array wildcard index, new array is longer fails", ["root", "*", 0], {"root": [1]},
     {"root": secret([3, 4])}, FAILS),
    ("Nested path, secret old", ["root", "secret"], {"root": secret({"secret": 1})}, {"root": {"secret": 2}},
     {"root": {"secret": secret(1)}}),
    ("Nested path, secret new", ["root", "secret"], {"root": {"secret": 1}}, {"root": secret({"secret": 2})},
     {"root": secret({"secret": 1})}),
]


@pytest.mark.parametrize(("path", "old", "new", "expected"), [case[1:] for case in GO_CASES],
                         ids=[case[0] for case in GO_CASES])
def test_reset_matches_the_engine(path, old, new, expected):
    result = copy.deepcopy(new)
    ok = reset(path, copy.deepcopy(old), result)
    if expected is FAILS:
        assert not ok
    else:
        assert ok
        assert result == expected


@pytest.mark.parametrize(("text", "parsed"), [
    ("actions", ["actions"]),
    ("actions[0].forward", ["actions", 0, "forward"]),
    ("actions[*].forward.targetGroups[*]", ["actions", "*", "forward", "targetGroups", "*"]),
    ("tags.*", ["tags", "*"]),
    ('tags["a.b"]', ["tags", "a.b"]),
    ('["root \\"q\\""][100]', ['root "q"', 100]),
])
def test_paths_parse_as_the_engine_parses_them(text, parsed):
    assert parse_path(text) == parsed


@pytest.mark.parametrize("text", [".a", "a.", "a[0", 'a["b', "a[x]"])
def test_malformed_paths_are_refused(text):
    with pytest.raises(PathError):
        parse_path(text)


# -- what a strategy switch does to a listener rule ----------------------------------------------------

PLAIN = {"actions": [{"type": "forward", "targetGroupArn": "tg"}], "priority": 1000}
WEIGHTED = {"actions": [{"type": "forward", "forward": {"targetGroups": [{"arn": "tg", "weight": 100},
                                                                         {"arn": "alt", "weight": 0}]}}],
            "priority": 1000}
SHIFTED = {"actions": [{"type": "forward", "forward": {"targetGroups": [{"arn": "alt", "weight": 100},
                                                                        {"arn": "tg", "weight": 0}]}}],
           "priority": 1000}
GROUPS = "actions[*].forward.targetGroups[*]"


def test_ignoring_the_whole_actions_keeps_a_plain_forward_when_a_rule_becomes_weighted():
    """Why the rules do not ignore `actions`: the switch to a traffic-shifting strategy would keep the
    plain forward, and the alternate target group would be on no rule."""
    inputs, invalid = process(WEIGHTED, PLAIN, ["actions"])
    assert inputs["actions"] == PLAIN["actions"] and invalid == []


def test_ignoring_the_target_groups_lets_a_rule_become_weighted():
    inputs, invalid = process(WEIGHTED, PLAIN, [GROUPS])
    assert inputs == WEIGHTED and invalid == [GROUPS]


def test_ignoring_the_target_groups_keeps_what_the_rule_had_while_it_stays_weighted():
    """A deployment swapped the groups (the state's inputs, after a refresh, say alt 100): the next
    update keeps each group with its own weight, whatever order the program lists them in."""
    inputs, invalid = process(WEIGHTED, SHIFTED, [GROUPS])
    assert inputs == SHIFTED and invalid == []


def test_ignoring_the_target_groups_lets_a_rule_become_plain_again():
    inputs, invalid = process(PLAIN, WEIGHTED, [GROUPS])
    assert inputs == PLAIN and invalid == [GROUPS]


def test_ignoring_one_level_higher_would_empty_the_forward_on_the_switch():
    """`actions[*].forward.targetGroups`: the engine deletes a path whose parent only the new inputs
    have, so the switch would send a forward without target groups."""
    inputs, _ = process(WEIGHTED, PLAIN, ["actions[*].forward.targetGroups"])
    assert inputs["actions"][0]["forward"] == {}
