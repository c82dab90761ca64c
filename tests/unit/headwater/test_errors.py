from control.stack.base import StackError
from headwater.errors import (
    ConfigurationError,
    DependencyUnavailable,
    HeadwaterError,
    is_transient,
)
from headwater.kafka.topics import TopicMismatch


def test_every_error_has_one_root_and_one_marker() -> None:
    transient = [DependencyUnavailable("kafka down")]
    terminal = [ConfigurationError("HEADWATER_X", "bad"), StackError("no java"), TopicMismatch("t")]
    for error in transient + terminal:
        assert isinstance(error, HeadwaterError)
    assert all(is_transient(error) for error in transient)
    assert not any(is_transient(error) for error in terminal)


def test_configuration_error_names_the_setting() -> None:
    error = ConfigurationError("HEADWATER_STACK__KAFKA_PORT", "127.0.0.1:1 is in use")
    assert str(error) == "HEADWATER_STACK__KAFKA_PORT: 127.0.0.1:1 is in use"
