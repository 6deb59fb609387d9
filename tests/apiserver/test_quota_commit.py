"""Quota charges commit with their object, on a real SQLite store, through two registries sharing it (as two API
servers share one store): racing creates cannot overrun a quota whichever server takes them, because each charge
is a compare-and-swap on the quota's resourceVersion. Also: dry runs, updates, and Pod Security exemptions by
user name (which need a caller, so they are tested below HTTP)."""

import asyncio
import json

import pytest

from portside import api
from portside.api import podsecurity as ps
from portside.apiserver import discovery, errors
from portside.apiserver.objects import Target
from portside.apiserver.registry import Registry, WriteOptions
from portside.store import open_store

NAMESPACES, PODS, SERVICES, QUOTAS = (api.lookup("", "v1", p) for p in ("namespaces", "pods", "services",
                                                                        "resourcequotas"))


def pod(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def setup(tmp_path, hard: dict[str, str]) -> tuple:
    store = await open_store(f"sqlite://{tmp_path / 'state.db'}")
    first, second = Registry(store), Registry(store)
    await first.create(Target(NAMESPACES), {"metadata": {"name": "team"}}, WriteOptions())
    await first.create(Target(QUOTAS, "team"), {"metadata": {"name": "q"}, "spec": {"hard": hard}}, WriteOptions())
    status = {"metadata": {"name": "q"}, "status": {"hard": hard, "used": {k: "0" for k in hard}}}
    await first.update(Target(QUOTAS, "team", "q", "status"), status, WriteOptions())
    return store, first, second


async def used(registry: Registry) -> dict[str, str]:
    return json.loads((await registry.read(Target(QUOTAS, "team", "q"))).value)["status"]["used"]


async def attempt(registry: Registry, body: dict) -> str:
    try:
        await registry.create(Target(PODS, "team"), body, WriteOptions())
        return "created"
    except errors.ApiError as exc:
        assert exc.code == 403, exc.message
        return exc.message


def test_racing_creates_on_two_servers_never_overrun_the_quota(tmp_path):
    async def run():
        store, first, second = await setup(tmp_path, {"pods": "5"})
        try:
            results = await asyncio.gather(*(attempt((first, second)[i % 2], pod(f"p{i}")) for i in range(16)))
            assert results.count("created") == 5
            refused = [r for r in results if r != "created"]
            assert all(r.endswith("is forbidden: exceeded quota: q, requested: pods=1, used: pods=5, limited: pods=5")
                       for r in refused)
            assert await used(second) == {"pods": "5"}
            assert len((await first.list(PODS, "team")).items) == 5
        finally:
            await store.close()
    asyncio.run(run())


def test_a_charge_lost_to_a_concurrent_write_is_charged_again(tmp_path):
    """The quota changes between admission's read and the commit (another server's charge): the commit's
    compare-and-swap fails on the quota's key and the create is charged against the fresh usage."""
    async def run():
        store, first, second = await setup(tmp_path, {"pods": "2"})
        try:
            original, armed, raced = store.list, [True], []

            async def list_then_race(prefix, **kw):  # the store both registries share
                listed = await original(prefix, **kw)
                if prefix == "/registry/core/resourcequotas/team/" and armed:
                    armed.clear()
                    raced.append(await attempt(second, pod("other")))  # commits while the first holds its read
                return listed

            store.list = list_then_race
            assert await attempt(first, pod("mine")) == "created"
            assert raced == ["created"] and await used(first) == {"pods": "2"}
            assert "exceeded quota: q" in await attempt(first, pod("third"))
        finally:
            await store.close()
    asyncio.run(run())


def test_a_dry_run_is_refused_like_the_write_but_charges_nothing(tmp_path):
    async def run():
        store, first, _ = await setup(tmp_path, {"pods": "1"})
        try:
            await first.create(Target(PODS, "team"), pod("dry"), WriteOptions(dry_run=True))
            assert await used(first) == {"pods": "0"}
            await first.create(Target(PODS, "team"), pod("real"), WriteOptions())
            with pytest.raises(errors.ApiError, match="exceeded quota"):
                await first.create(Target(PODS, "team"), pod("dry2"), WriteOptions(dry_run=True))
        finally:
            await store.close()
    asyncio.run(run())


def test_an_update_is_charged_what_it_adds(tmp_path):
    async def run():
        store, first, _ = await setup(tmp_path, {"services.nodeports": "1", "services": "5"})
        try:
            svc = {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
            await first.create(Target(SERVICES, "team"), svc, WriteOptions())
            assert await used(first) == {"services.nodeports": "0", "services": "1"}
            patch = json.dumps({"spec": {"type": "NodePort"}}).encode()
            with pytest.raises(errors.ApiError) as refused:
                await first.patch(Target(SERVICES, "team", "web"), patch, "application/merge-patch+json",
                                  WriteOptions())
            assert refused.value.message == ('services "web" is forbidden: exceeded quota: q, requested: '
                                             'services.nodeports=2, used: services.nodeports=0, limited: '
                                             'services.nodeports=1')
        finally:
            await store.close()
    asyncio.run(run())


def test_pod_security_exempts_users_and_namespaces_by_configuration(tmp_path):
    async def run():
        store = await open_store(f"sqlite://{tmp_path / 'state.db'}")
        registry = Registry(store)
        registry.admission.pod_security.config = ps.Config(usernames=frozenset({"ci-bot"}),
                                                           namespaces=frozenset({"free"}))
        try:
            for name in ("locked", "free"):
                labels = {"pod-security.kubernetes.io/enforce": "restricted"}
                await registry.create(Target(NAMESPACES), {"metadata": {"name": name, "labels": labels}},
                                      WriteOptions())
            with pytest.raises(errors.ApiError, match='violates PodSecurity "restricted:latest"'):
                await registry.create(Target(PODS, "locked"), pod("a"), WriteOptions(user="someone"))
            await registry.create(Target(PODS, "locked"), pod("b"), WriteOptions(user="ci-bot"))
            await registry.create(Target(PODS, "free"), pod("c"), WriteOptions(user="someone"))
        finally:
            await store.close()
    asyncio.run(run())


def test_latest_pod_security_standards_are_the_served_version():
    assert str(ps.LATEST_MINOR) == discovery.KUBE_MINOR
