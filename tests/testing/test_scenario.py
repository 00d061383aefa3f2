import pytest

from talktrack.errors import ConfigError
from talktrack.testing.scenario import Hangup, Noise, Say, Silence, WaitAgent, load_scenario


def write(tmp_path, text: str):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_loads_every_step_kind(tmp_path):
    path = write(
        tmp_path,
        """
name: all
steps:
  - say: "Hello?"
  - wait_agent
  - say: "How much?"
    barge_in_after_ms: 500
    expect: "dollars"
  - silence: 1.5
  - noise: cough
  - say_wav: hello.wav
  - hangup
""",
    )
    s = load_scenario(path)
    kinds = [type(step) for step in s.steps]
    assert kinds == [Say, WaitAgent, Say, Silence, Noise, Say, Hangup]
    assert s.steps[2].barge_in_after_ms == 500
    assert s.steps[5].say_wav == (tmp_path / "hello.wav").resolve()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("name: x\nsteps: []\n", "non-empty list of steps"),
        ("name: x\nsteps:\n  - shout: hi\n", "steps[0] has none of the step keys"),
        ("name: x\nsteps:\n  - say: hi\n    barge_in_after_ms: -5\n", "steps[0]: barge_in_after_ms"),
        ("name: x\nsteps:\n  - noise: trumpet\n", "steps[0]: noise"),
        ("name: x\nsteps:\n  - say: hi\n    say_wav: a.wav\n", "exactly one of say"),
        ("name: x\nsteps: [\n", "not valid YAML"),
        ("name: x\ncolour: red\nsteps:\n  - say: hi\n", "colour"),
    ],
)
def test_bad_scenarios_name_the_file_and_the_problem(tmp_path, body, needle):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert str(path) in err.value.message
    assert needle in err.value.message
    assert err.value.fix


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")


def test_bundled_scenarios_all_load():
    from importlib import resources
    from pathlib import Path

    folder = Path(str(resources.files("talktrack.data").joinpath("scenarios")))
    files = sorted(folder.rglob("*.yaml"))
    assert files, "talktrack ships scenarios"
    for file in files:
        assert load_scenario(file).steps
