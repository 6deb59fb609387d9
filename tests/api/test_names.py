"""Identifier checks carry Kubernetes' exact messages (users search for them)."""

from portside.api import names


def test_subdomain_message_is_kubernetes_wording() -> None:
    assert names.is_dns1123_subdomain("My_App") == [
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    assert names.is_dns1123_subdomain("a.b-c") == []
    assert names.is_dns1123_subdomain("a" * 254)[0] == "must be no more than 253 characters"


def test_label_name_and_value() -> None:
    assert names.is_dns1123_label("my-name") == []
    assert "RFC 1123 label" in names.is_dns1123_label("-x")[0]
    assert "DNS-1035 label" in names.is_dns1035_label("1abc")[0]
    assert names.is_label_value("") == []
    assert names.is_label_value("a" * 64)[0] == "must be no more than 63 characters"
    assert "a valid label must be an empty string" in names.is_label_value("-bad")[0]


def test_qualified_names() -> None:
    assert names.is_qualified_name("example.com/MyName") == []
    assert names.is_qualified_name("app") == []
    assert names.is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert names.is_qualified_name("a/b/c")[0].endswith("with an optional DNS subdomain prefix and '/' "
                                                        "(e.g. 'example.com/MyName')")
    assert names.is_qualified_name("Bad_Prefix/x")[0].startswith("prefix part a lowercase RFC 1123 subdomain")
    assert names.is_qualified_name("")[0] == "name part must be non-empty"


def test_env_port_names_and_numbers() -> None:
    assert names.is_env_var_name("MY_VAR.1") == []
    assert "must not start with a digit" in names.is_env_var_name("1X")[0]
    assert names.is_port_name("http") == []
    assert names.is_port_name("a--b") == ["must not contain consecutive hyphens"]
    assert "must contain at least one letter (a-z)" in names.is_port_name("123")
    assert names.is_port_name("averyveryverylongname")[0] == "must be no more than 15 characters"
    assert names.is_port_number(0) == ["must be between 1 and 65535, inclusive"]
    assert names.is_port_number(65535) == []
