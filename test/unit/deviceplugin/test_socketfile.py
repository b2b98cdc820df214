"""Socket file identities and the refusal to delete anything that is not a socket."""

import socket

import pytest

from eni.agent.deviceplugin import SocketPathError
from eni.agent.deviceplugin.socketfile import file_identity, remove_socket


def bind(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


def test_recreated_socket_has_a_new_identity(tmp_path):
    path = tmp_path / "k.sock"
    assert file_identity(path) is None
    bind(path)
    first = file_identity(path)
    # Keep the old inode alive elsewhere so the new file cannot reuse its number.
    (tmp_path / "k.sock").rename(tmp_path / "old.sock")
    bind(path)

    assert first is not None
    assert file_identity(path) not in (None, first)


def test_remove_socket_only_removes_the_named_incarnation(tmp_path):
    path = tmp_path / "p.sock"
    bind(path)
    stale = file_identity(path)
    path.rename(tmp_path / "old.sock")
    bind(path)

    assert remove_socket(path, only=stale) is False
    assert path.exists()
    assert remove_socket(path) is True
    assert not path.exists()
    assert remove_socket(path) is False


@pytest.mark.parametrize("make", [lambda p: p.write_text("precious"), lambda p: p.mkdir()])
def test_remove_socket_refuses_other_files(tmp_path, make):
    path = tmp_path / "p.sock"
    make(path)

    with pytest.raises(SocketPathError):
        remove_socket(path)
    assert path.exists()


def test_remove_socket_of_a_gone_incarnation_leaves_a_replacing_file_alone(tmp_path):
    path = tmp_path / "p.sock"
    bind(path)
    ours = file_identity(path)
    path.rename(tmp_path / "old.sock")
    path.write_text("someone else's")

    assert remove_socket(path, only=ours) is False
    assert path.read_text() == "someone else's"
