"""The value classes that stand in for dataclasses on ``portside run``'s path keep the dataclass behaviour callers
use: equality by type and fields, a repr naming the fields, and ``replace``."""

import pytest

from portside.runtime.spec import Limits, Mount, Security


def test_equality_is_by_type_and_fields() -> None:
    assert Mount("/a", "/b") == Mount("/a", "/b", "bind", ("rbind", "rprivate"))
    assert Mount("/a", "/b") != Mount("/a", "/c")
    assert Limits() != Security()  # both all defaults, but not the same kind of value


def test_repr_names_every_field() -> None:
    assert repr(Mount("/a", "/b")) == "Mount(destination='/a', source='/b', type='bind', options=('rbind', 'rprivate'))"


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    base = Security(cap_add=("NET_ADMIN",))
    changed = base.replace(seccomp={"defaultAction": "SCMP_ACT_ALLOW"})
    assert changed.seccomp == {"defaultAction": "SCMP_ACT_ALLOW"} and changed.cap_add == ("NET_ADMIN",)
    assert base.seccomp is None
    with pytest.raises(TypeError, match="no field 'seccom'"):
        base.replace(seccom={})
