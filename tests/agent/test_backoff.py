"""CrashLoopBackOff on data: immediate first restart, doubling to the cap, reset after a long run."""

from portside.agent.backoff import Entry, Policy, after_restart, effective, restart_at

POLICY = Policy(base=10, cap=300, reset_after=600)


def test_first_restart_is_immediate_then_delays_double_up_to_the_cap():
    entry, delays = Entry(), []
    for _ in range(8):
        delays.append(restart_at(entry, 100.0) - 100.0)
        entry = after_restart(entry, POLICY, ran_for=1)
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]


def test_a_run_of_ten_minutes_clears_the_back_off():
    entry = Entry(160)
    assert effective(entry, 599, POLICY) == entry
    assert effective(entry, 600, POLICY) == Entry()
    assert after_restart(entry, POLICY, ran_for=600) == Entry(10)


def test_the_base_is_configurable():
    fast = Policy(base=0.5, cap=4)
    entry = after_restart(Entry(), fast, 0)
    assert [entry := after_restart(entry, fast, 0) for _ in range(4)][-1] == Entry(4)
