"""The heap map from a known pool state: its text, its parse, its picture (size and
pixels), and the same map taken live on the unix port by `chunkalloc map`."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

import chunkalloc
import chunkalloc_map
from chunkalloc_host import cli, heapmap, plots


def known_pool() -> chunkalloc.ChunkAllocator:
    """300 chunks of 16 B: allocations of 1, 3, 10, 5 and 2 chunks, two holes."""
    a = chunkalloc.ChunkAllocator(chunkalloc.heap(300, 16), chunkalloc.heap_bitmap(300), 16)
    xs = [a.alloc(16 * n) for n in (1, 2, 3, 40, 10, 5, 2)]
    a.free(xs[1])
    a.free(xs[3])
    return a



def map_text(pool) -> str:
    lines: list[str] = []
    chunkalloc_map.show(pool, lines.append)
    return "\n".join(lines) + "\n"


def test_map_text_parses_back_to_the_pools_chunks_and_metrics():
    a = known_pool()
    m = heapmap.parse(map_text(a))
    assert m.kinds == "".join(".h="[a.chunk_kind(i)] for i in range(a.chunks))
    assert m.kinds[:63] == "h..h==" + "." * 40 + "h=========h====h="
    assert m.kinds[63:] == "." * 237
    s = a.stats()
    assert (m.chunks, m.chunk_size, m.used, m.allocations) == (300, 16, 21, 5)
    assert (m.free, m.free_runs, m.largest_free) == (s["free"], s["free_runs"], s["largest_free"])
    assert (m.free_runs, m.largest_free) == (3, 237)
    assert m.fragmentation == round(s["fragmentation"], 1)


def test_map_png_has_the_documented_size_and_each_chunks_colour(tmp_path):
    m = heapmap.parse(map_text(known_pool()))
    out = plots.render_map(m, tmp_path / "map.png")
    img = imread(out)[:, :, :3]
    assert img.shape[:2] == plots.image_size(m)[::-1]
    colors = plots.chunk_colors(m)
    for i in (0, 1, 3, 4, 46, 50, 56, 61, 63, 299):
        x, y = plots.chunk_pixel(m, i)
        assert np.abs(img[y, x] - colors[i]).max() < 3 / 255, i
    x, y = plots.chunk_pixel(m, 1)
    assert np.allclose(img[y, x], plots.FREE_RGB, atol=3 / 255)  # a hole is grey
    head, tail = plots.chunk_pixel(m, 46), plots.chunk_pixel(m, 47)
    assert np.allclose(img[head[1], head[0]], img[tail[1], tail[0]] * plots.HEAD_SHADE, atol=3 / 255)
    assert not np.allclose(colors[3], colors[46])  # 3 chunks and 10 chunks differ in colour


def test_map_command_draws_a_saved_map_text(tmp_path, capsys):
    (tmp_path / "map.txt").write_text("device says hi\n" + map_text(known_pool()))
    assert cli.main(["map", "--input", str(tmp_path / "map.txt"), "--out",
                     str(tmp_path / "map.png")]) == 0
    assert "fragmentation" in capsys.readouterr().out
    assert imread(tmp_path / "map.png").shape[:2] == (260, plots.LEFT + plots.MARGIN + 64 * 16 + plots.PANEL)


LIVE_SCRIPT = """
import chunkalloc
def make_pool():
    return chunkalloc.ChunkAllocator(chunkalloc.heap(300, 16), chunkalloc.heap_bitmap(300), 16)
def run(pool, seconds, tick=None):
    xs = [pool.alloc(16 * n) for n in (1, 2, 3, 40, 10, 5, 2)]
    pool.free(xs[1])
    pool.free(xs[3])
    for _ in range(3):
        tick(pool)
    for x in xs[4:]:
        pool.free(x)
"""


def test_map_command_snapshots_a_live_pool_on_the_unix_port(tmp_path):
    (tmp_path / "wl.py").write_text(LIVE_SCRIPT)
    assert cli.main(["map", "--board", "unix", "--script", str(tmp_path / "wl.py"), "--at", "0.2",
                     "--out", str(tmp_path / "live.png"), "--text", str(tmp_path / "live.txt")]) == 0
    assert (tmp_path / "live.txt").read_text() == map_text(known_pool())
    assert imread(tmp_path / "live.png").shape[:2] == (260, plots.LEFT + plots.MARGIN + 64 * 16 + plots.PANEL)


@pytest.mark.parametrize("damage,message", [
    (lambda t: t.replace("chunkalloc-map", "heap"), "no heap map"),
    (lambda t: t.replace("01000: ", "00f00: "), "line 4: expected a map line for byte 01000"),
    (lambda t: t.replace("free=", "fre="), "line 5: expected a map line"),
    (lambda t: t.replace("(3 lines", "(2 lines"), "line 4: expected a map line for byte 00c00"),
    (lambda t: t.replace("h..h==", "h..x=="), "the map shows"),
    (lambda t: t.replace("end-map", ""), "expected 'end-map'"),
    (lambda t: t.split("free=")[0], "stops without its metrics line"),
])
def test_bad_map_text_is_an_error_naming_the_line(damage, message):
    with pytest.raises(heapmap.MapError, match=message):
        heapmap.parse(damage(map_text(known_pool())))
