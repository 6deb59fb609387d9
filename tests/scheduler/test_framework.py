"""Every stage a profile declares runs through it: PreFilter and Permit plugins of the profile decide, and
per-attempt data lives in the CycleState, not in the node table."""

from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler import InMemoryBinder, Scheduler
from portside.scheduler.framework import SUCCESS, Code, CycleState, Status
from portside.scheduler.profile import builtin_profiles


class Hold:
    """A Permit that holds every pod whose name starts with 'held'."""

    NAME = "Hold"

    def permit(self, state: CycleState, p) -> Status:
        return Status(Code.WAIT, "held for review", self.NAME) if p.name.startswith("held") else SUCCESS


class OnlyLabelled:
    """A PreFilter (declared on a permit plugin, as gangs' Coscheduling is) refusing pods without a 'team'."""

    NAME = "OnlyLabelled"

    def prefilter(self, state: CycleState, p, nodes) -> Status:
        state.write(self.NAME, p.labels.get("team"))
        return SUCCESS if p.labels.get("team") else Status(Code.UNSCHEDULABLE, "no team label", self.NAME)

    def permit(self, state: CycleState, p) -> Status:
        assert state.read(self.NAME) == p.labels["team"]  # what its PreFilter wrote for this attempt
        return SUCCESS


def scheduler_with(*permits) -> tuple[Scheduler, InMemoryBinder]:
    profiles = builtin_profiles()
    profiles["default-scheduler"].permits.extend(permits)
    binder = InMemoryBinder()
    sched = Scheduler(binder, profiles)
    sched.set_node(node("n1"), 0.0)
    return sched, binder


def test_permit_of_the_profile_holds_the_pod_and_releases_its_reservation():
    sched, binder = scheduler_with(Hold())
    for p in (pod("held-1"), pod("free")):
        sched.enqueue(p, 0.0)
    sched.run(0.0)
    assert binder.bound == {"default/free": "n1"}
    assert binder.refusals["default/held-1"] == "held for review"
    assert set(sched.nodes.placed) == {"default/free"}  # the held pod holds no room


def test_prefilter_of_the_profile_refuses_before_any_node_and_state_reaches_permit():
    sched, binder = scheduler_with(OnlyLabelled())
    for p in (pod("anon"), pod("member", labels={"team": "a"})):
        sched.enqueue(p, 0.0)
    sched.run(0.0)
    assert binder.bound == {"default/member": "n1"}
    assert binder.refusals["default/anon"] == "no team label"


def test_plugins_keep_no_attempt_data_on_the_node_table():
    sched, _ = scheduler_with()
    assert not hasattr(sched.nodes, "memo") and not hasattr(sched.nodes, "derived")
    state = CycleState()
    row, status = sched.cycles["default-scheduler"].select(state, pod("p"))
    assert (row, status.ok) == (0, True)
    assert state.read("PreFilterNodeResourcesFit") is not None  # NodeResourcesFit's PreFilter wrote, Filter read
