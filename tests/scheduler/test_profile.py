import pytest

from portside.scheduler.profile import ProfileError, builtin_profiles, load_config, pick


def plugin_names(profile):
    return [f.NAME for f in profile.filters], {s.NAME: w for s, w in profile.scores}


def test_builtin_profiles():
    profiles = builtin_profiles()
    default, binpack = pick(profiles, "default"), pick(profiles, "binpack")
    assert default.name == "default-scheduler"
    _, scores = plugin_names(default)
    assert scores["TaintToleration"] == 3 and scores["NodeResourcesBalancedAllocation"] == 1
    assert default.scores[0][0].strategy == "LeastAllocated"
    assert binpack.scores[0][0].strategy == "MostAllocated"
    assert binpack.percentage_of_nodes_to_score == 100
    assert binpack.queue_sort.tie_break == "dominant"


def test_config_file_enables_disables_and_weights():
    text = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: custom
  plugins:
    filter:
      disabled: [{name: NodePorts}]
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeAffinity, weight: 5}, {name: NodeResourcesFit, weight: 2}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated, resources: [{name: cpu, weight: 3}]}}
"""
    profile = load_config(text)["custom"]
    filters, scores = plugin_names(profile)
    assert "NodePorts" not in filters and "NodeResourcesFit" in filters
    assert scores == {"NodeAffinity": 5, "NodeResourcesFit": 2}
    fit = [s for s, _ in profile.scores if s.NAME == "NodeResourcesFit"][0]
    assert fit.strategy == "MostAllocated" and fit.resources == (("cpu", 3),)
    assert profile.percentage_of_nodes_to_score == 30


@pytest.mark.parametrize("text, error", [
    ("profiles: [{plugins: {score: {enabled: [{name: Nope}]}}}]",
     "profiles[0].plugins.score.enabled[0].name: unknown plugin 'Nope'"),
    ("profiles: [{plugins: {score: {enabled: [{name: NodeAffinity, weight: 0}]}}}]",
     "profiles[0].plugins.score.enabled[0].weight: expected a positive integer, got 0"),
    ("profiles: [{percentageOfNodesToScore: 120}]",
     "profiles[0].percentageOfNodesToScore: expected an integer 0-100, got 120"),
    ("profiles: [{pluginConfig: [{name: NodeResourcesFit, args: {scoringStrategy: {type: Random}}}]}]",
     "scoringStrategy.type: expected LeastAllocated or MostAllocated, got 'Random'"),
    ("kind: Deployment", "kind: expected KubeSchedulerConfiguration"),
    ("profiles: [", "not valid YAML"),
])
def test_bad_configuration_names_the_field(text, error):
    with pytest.raises(ProfileError, match=None) as info:
        load_config(text, "sched.yaml")
    assert error in str(info.value)


def test_unknown_profile_name():
    with pytest.raises(ProfileError, match="unknown profile 'fast' \\(known: binpack, default-scheduler\\)"):
        pick(builtin_profiles(), "fast")


def test_data_dir_configuration_adds_profiles(tmp_path):
    from portside.scheduler.service import profiles_for

    assert set(profiles_for(str(tmp_path))) == {"default-scheduler", "binpack"}
    (tmp_path / "scheduler.yaml").write_text("profiles: [{schedulerName: batch, percentageOfNodesToScore: 50}]\n")
    assert profiles_for(str(tmp_path))["batch"].percentage_of_nodes_to_score == 50
    (tmp_path / "scheduler.yaml").write_text("profiles: [{schedulerName: batch, percentageOfNodesToScore: -1}]\n")
    with pytest.raises(ProfileError, match="scheduler.yaml: .*profiles\\[0\\].percentageOfNodesToScore"):
        profiles_for(str(tmp_path))
