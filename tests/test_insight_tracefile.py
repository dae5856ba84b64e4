"""The trace file: round trips, and a bad file is an error naming its line (or byte
offset) that writes nothing, not half a file."""

from __future__ import annotations

import pytest

from chunkalloc_host import cli, tracefile
from chunkalloc_host.atomic import write_atomically

GOOD = """chunkalloc-trace 1
pool chunks=8 chunk_size=16 base=4096
dropped 0
a 20 4 0
# a comment, then a blank line

r 0 40 4 32
a 500 1 -1
f 32
end 4
"""


def test_a_trace_round_trips_through_its_text():
    trace = tracefile.parse(GOOD)
    assert (trace.chunks, trace.chunk_size, trace.base, trace.dropped) == (8, 16, 4096, 0)
    assert [op.kind for op in trace.ops] == ["a", "r", "a", "f"]
    assert trace.ops[1] == tracefile.Op("r", 0, 40, 4, 32)
    assert trace.failures() == [2]
    assert tracefile.parse(tracefile.dumps(trace)) == trace


def test_the_trace_is_found_among_other_device_output():
    assert tracefile.parse(tracefile.extract("booting\n" + GOOD + ">>> \n")) == tracefile.parse(GOOD)
    with pytest.raises(tracefile.TraceError, match="printed no trace"):
        tracefile.extract("Traceback ...\nMemoryError\n")
    with pytest.raises(tracefile.TraceError, match="without an 'end N' line"):
        tracefile.extract(GOOD.replace("end 4\n", ""))


@pytest.mark.parametrize("old,new,message", [
    ("chunkalloc-trace 1", "chunkalloc-trace 2", "line 1: not a chunkalloc trace"),
    ("pool chunks=8 chunk_size=16 base=4096", "pool chunks=8 base=4096", "line 2: missing chunk_size"),
    ("chunk_size=16", "chunk_size=24", "line 2: need chunks >= 1 and a power-of-two chunk_size"),
    ("chunks=8", "chunks=eight", "line 2: expected integers"),
    ("dropped 0", "lost 0", "line 3: expected 'pool ...' then 'dropped N'"),
    ("a 20 4 0", "a 20 4", "line 4: record 'a' takes 3 numbers, got 2"),
    ("a 20 4 0", "x 20 4 0", "line 4: unknown record 'x'"),
    ("a 20 4 0", "a 20 3 0", "line 4: align must be a power of two, got 3"),
    ("a 20 4 0", "a 0 4 0", "line 4: size must be >= 1"),
    ("a 20 4 0", "a 20 4 8", "line 4: result 8 is neither -1 nor a chunk"),
    ("r 0 40 4 32", "r 0 40 4 x", "line 7: expected integers"),
    ("f 32", "f 128", "line 9: offset 128 is not a chunk in the pool"),
    ("end 4", "end 5", "line 10: 'end' says 5 records, the file has 4"),
    ("end 4\n", "end 4\na 1 1 0\n", "line 11: text after 'end'"),
    ("end 4\n", "", "line 9: the trace stops without an 'end N' line"),
])
def test_a_bad_trace_is_an_error_naming_the_line(tmp_path, old, new, message):
    path = tmp_path / "bad.trace"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(tracefile.TraceError, match=message) as e:
        tracefile.read(path)
    assert str(e.value).startswith(str(path) + ": ")


def test_bytes_that_are_not_text_are_an_error_naming_the_byte_offset(tmp_path):
    path = tmp_path / "binary.trace"
    path.write_bytes(GOOD.encode()[:60] + b"\xff\xfe" + GOOD.encode()[60:])
    with pytest.raises(tracefile.TraceError, match=r"byte 60: not ASCII text \(0xff\)"):
        tracefile.read(path)


def test_an_empty_file_is_not_a_trace(tmp_path):
    (tmp_path / "empty.trace").write_text("")
    with pytest.raises(tracefile.TraceError, match="line 1: not a chunkalloc trace"):
        tracefile.read(tmp_path / "empty.trace")


@pytest.mark.parametrize("command", ["replay", "tune"])
def test_commands_given_a_bad_trace_say_where_and_write_nothing(tmp_path, capsys, command):
    path = tmp_path / "bad.trace"
    path.write_text(GOOD.replace("f 32", "f 33"))
    assert cli.main([command, str(path)]) == 1
    assert f"{path}: line 9: offset 33 is not a chunk in the pool" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.trace"]


def test_a_write_that_fails_leaves_the_old_file_whole_and_no_temporary_behind(tmp_path):
    path = tmp_path / "trace.txt"
    tracefile.write(path, tracefile.parse(GOOD))

    def half_then_fail(tmp):
        tmp.write_text("chunkalloc-trace 1\npool")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_fail)
    assert path.read_text() == tracefile.dumps(tracefile.parse(GOOD))
    assert [p.name for p in tmp_path.iterdir()] == ["trace.txt"]


def test_trace_command_writes_nothing_when_the_workload_fails(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("def make_pool():\n    raise ValueError('no pool')\n"
                                        "def run(pool, seconds, tick=None):\n    pass\n")
    out = tmp_path / "out.trace"
    assert cli.main(["trace", "--script", str(tmp_path / "broken.py"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ValueError: no pool" in err and "the workload failed" in err
    assert not out.exists()


def test_a_written_file_gets_the_permissions_of_any_new_file(tmp_path):
    import os

    path = tracefile.write(tmp_path / "t.trace", tracefile.parse(GOOD))
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
