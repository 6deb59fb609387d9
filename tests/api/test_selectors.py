"""Label and field selectors: grammar, matching semantics, and errors that name the bad part."""

import pytest

from portside import api
from portside.api.selectors import format_selector

LABELS = {"app": "web", "tier": "frontend", "version": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("env!=prod", True),  # absent key satisfies !=
        ("app=web,tier=backend", False),
        ("tier in (frontend, backend)", True),
        ("tier notin (frontend)", False),
        ("env notin (prod)", True),
        ("app", True),
        ("!app", False),
        ("!env", True),
        ("version>2", True),
        ("version<3", False),
        ("app=", False),
        ("  app = web , tier in(frontend)  ", True),
    ],
)
def test_label_selector_matching(selector: str, matches: bool) -> None:
    assert api.label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        ("a b", "expected '=', '==', '!=', 'in', 'notin', '<' or '>', found 'b'"),
        ("app in a", "expected '(', found 'a'"),
        ("=x", "expected a key, found '='"),
        ("a=b c", "expected ',', found 'c'"),
        ("app in (a", "expected ')' or ','"),
        ("Bad Key=1", "expected"),
        ("-a=1", "invalid label key '-a'"),
        ("a=-x-", "invalid label value '-x-'"),
        ("a>b", "needs a single integer value"),
    ],
)
def test_label_selector_errors_name_the_problem(selector: str, fragment: str) -> None:
    with pytest.raises(api.SelectorError) as err:
        api.label_selector(selector)
    assert fragment in str(err.value)


def test_selector_from_object() -> None:
    sel = api.selector_from_object(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]},
                                                              {"key": "legacy", "operator": "DoesNotExist"}]}
    )
    assert sel.matches(LABELS)
    assert not sel.matches({"app": "web", "tier": "frontend", "legacy": "1"})


def test_nil_selector_matches_nothing_and_empty_matches_everything() -> None:
    assert not api.selector_from_object(None).matches(LABELS)
    assert api.selector_from_object({}).matches(LABELS)


def test_selector_object_errors() -> None:
    with pytest.raises(api.SelectorError, match="'Maybe' is not a valid label selector operator"):
        api.selector_from_object({"matchExpressions": [{"key": "a", "operator": "Maybe"}]})
    with pytest.raises(api.SelectorError, match="values must be empty for operator Exists"):
        api.selector_from_object({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})


def test_format_round_trips() -> None:
    text = "app=web,tier in (a,b),!legacy,env!=prod,x"
    formatted = format_selector(api.label_selector(text))
    assert formatted == "app=web,env!=prod,!legacy,tier in (a,b),x"  # sorted by key
    assert set(api.label_selector(formatted).requirements) == set(api.label_selector(text).requirements)
    assert api.format_label_selector({"matchLabels": {"app": "my-app"}}) == "app=my-app"


POD = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1", "hostNetwork": False},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=p", True),
        ("metadata.namespace!=default", False),
        ("spec.nodeName=n1,status.phase=Running", True),
        ("status.phase!=Running", False),
        ("spec.hostNetwork=false", True),
        ("status.podIP=", True),  # absent reads as empty
        ("spec.nodeName==n2", False),
    ],
)
def test_field_selector_on_pods(selector: str, matches: bool) -> None:
    assert api.field_selector(selector, "Pod").matches(POD) is matches


def test_field_selector_rejects_unsupported_fields() -> None:
    with pytest.raises(api.SelectorError, match="field label not supported: spec.replicas"):
        api.field_selector("spec.replicas=3", "Deployment")
    with pytest.raises(api.SelectorError, match="field label not supported: spec.nodeName"):
        api.field_selector("spec.nodeName=x", api.lookup("", "v1", "services"))


def test_field_selector_escapes_and_helpers() -> None:
    sel = api.field_selector(r"metadata.name=a\,b", "Pod")
    assert sel.matches({"metadata": {"name": "a,b"}})
    assert sel.exact("metadata.name") == "a,b"
    assert api.field_selector("", "Pod").empty()
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod"}, "source": {"component": "kubelet"}}
    assert api.field_selector("involvedObject.kind=Pod,source=kubelet", "Event").matches(event)


def test_field_selector_syntax_error() -> None:
    with pytest.raises(api.SelectorError, match="invalid selector"):
        api.field_selector("metadata.name", "Pod")


# --- nil versus empty, per field (Kubernetes' rules; see the table in portside.api.selectors) -----------------

def test_label_selector_object_nil_selects_nothing_empty_everything_also_typed() -> None:
    from portside.api.models.meta import LabelSelector

    assert not api.selector_from_object(None).matches({})
    assert api.selector_from_object({}).matches({})
    assert api.selector_from_object(LabelSelector()).matches(LABELS)
    typed = LabelSelector.from_dict({"matchLabels": {"app": "web"},
                                     "matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]})
    assert api.selector_from_object(typed) == api.selector_from_object(typed.to_dict())
    assert api.selector_from_object(typed).matches(LABELS)


def test_node_selector_map_missing_or_empty_selects_every_node() -> None:
    from portside.api.selectors import selector_from_set

    assert selector_from_set(None).matches({}) and selector_from_set({}).matches({"a": "b"})
    assert not selector_from_set({"disk": "ssd"}).matches({"disk": "hdd"})


def test_service_selector_missing_or_empty_selects_nothing() -> None:
    from portside.api.selectors import service_selector

    assert not service_selector(None).matches(LABELS)
    assert not service_selector({}).matches(LABELS)
    assert service_selector({"app": "web"}).matches(LABELS)


def test_node_affinity_nil_is_no_constraint_but_no_terms_or_empty_terms_match_no_node() -> None:
    from portside.api.selectors import node_selector_from_object, node_term_from_object

    assert node_selector_from_object(None) is None
    assert not node_selector_from_object({"nodeSelectorTerms": []}).matches(LABELS, "n1")
    assert not node_selector_from_object({"nodeSelectorTerms": [{}]}).matches(LABELS, "n1")
    assert not node_term_from_object({}).matches(LABELS, "n1")
    either = node_selector_from_object({"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
        {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]}]})
    assert either.matches(LABELS, "n1") and not either.matches(LABELS, "n2")
    assert either.matches({"cores": "16"}, "n2") and not either.matches({"cores": "4"}, "n2")


def test_node_selector_errors_name_the_field() -> None:
    from portside.api.selectors import node_term_from_object

    with pytest.raises(api.SelectorError, match=r"matchFields\[0\].key: only 'metadata.name'"):
        node_term_from_object({"matchFields": [{"key": "spec.x", "operator": "In", "values": ["a"]}]})
    with pytest.raises(api.SelectorError, match=r"matchExpressions\[0\].operator: 'Near' is not a valid"):
        node_term_from_object({"matchExpressions": [{"key": "a", "operator": "Near"}]})
    with pytest.raises(api.SelectorError, match="Gt needs a single integer value"):
        node_term_from_object({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["x"]}]})
