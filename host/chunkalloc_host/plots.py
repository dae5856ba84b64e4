"""The pictures: a heap map as a PNG heat map, and a replay's results as a chart.

Drawn with matplotlib's Agg backend (no display needed) and written atomically.
The heat map lays chunks out as the text map does, 64 to a row, each a cell of
CELL x CELL pixels at a fixed place, so chunk_pixel() can say where any chunk is.
"""

# Strict, less one rule here: matplotlib's (and numpy's) own stubs leave **kwargs untyped,
# so every call on a figure or axes reads as partially unknown; all else is checked.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from .atomic import write_atomically  # noqa: E402
from .heapmap import HEAD, LINE, HeapMap  # noqa: E402

if TYPE_CHECKING:
    from .replay import Result

DPI = 100
MARGIN = 40  # pixels above, below and right of the map
LEFT = 64  # pixels left of the map, for the offsets
PANEL = 300  # pixels to the right of the map: the metrics and the colour scale
FREE_RGB = (0.92, 0.92, 0.92)
HEAD_SHADE = 0.6  # head chunks drawn darker, so neighbouring allocations part
COLORMAP = "viridis"


def cell_size(chunks: int) -> int:
    """Pixels per chunk cell: 16, smaller for big pools so the picture stays under ~800 rows."""
    rows = math.ceil(chunks / LINE)
    return max(2, min(16, 800 // rows))


def image_size(heap_map: HeapMap) -> tuple[int, int]:
    """(width, height) of the PNG in pixels."""
    cell = cell_size(heap_map.chunks)
    rows = math.ceil(heap_map.chunks / LINE)
    return LEFT + MARGIN + LINE * cell + PANEL, max(2 * MARGIN + rows * cell, 260)


def chunk_pixel(heap_map: HeapMap, i: int) -> tuple[int, int]:
    """(x, y) of the centre of chunk i's cell in the PNG, from the top left."""
    cell = cell_size(heap_map.chunks)
    return LEFT + (i % LINE) * cell + cell // 2, MARGIN + (i // LINE) * cell + cell // 2


def chunk_colors(heap_map: HeapMap) -> np.ndarray:
    """RGB per chunk: free grey; allocated coloured by its allocation's size in
    chunks (log scale), its head darker."""
    lengths = heap_map.run_lengths()
    norm = LogNorm(1, max(2, max(lengths, default=1)))
    cmap = plt.get_cmap(COLORMAP)
    rgb = np.empty((heap_map.chunks, 3))
    for i, (n, kind) in enumerate(zip(lengths, heap_map.kinds)):
        if n == 0:
            rgb[i] = FREE_RGB
        else:
            rgb[i] = cmap(norm(n))[:3]
            if kind == HEAD:
                rgb[i] *= HEAD_SHADE
    return rgb


def render_map(heap_map: HeapMap, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write heap_map as a PNG heat map with its metrics beside it."""
    width, height = image_size(heap_map)
    cell = cell_size(heap_map.chunks)
    rows = math.ceil(heap_map.chunks / LINE)
    grid = np.ones((rows * LINE, 3))  # white past the last chunk
    grid[:heap_map.chunks] = chunk_colors(heap_map)
    grid = grid.reshape(rows, LINE, 3)

    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((LEFT / width, 1 - (MARGIN + rows * cell) / height,
                       LINE * cell / width, rows * cell / height))
    ax.imshow(grid, interpolation="nearest", aspect="auto", extent=(0, LINE, rows, 0))
    ax.set_xticks([0, 16, 32, 48, 64])
    every = max(1, rows // 8)
    ax.set_yticks([r + 0.5 for r in range(0, rows, every)],
                  [f"{r * LINE * heap_map.chunk_size:05x}" for r in range(0, rows, every)])
    ax.tick_params(labelsize=7)
    ax.set_xlabel("chunk within row (64 per row)", fontsize=8)
    ax.set_ylabel("byte offset (hex)", fontsize=8)
    m = heap_map
    fig.text(1 - (PANEL - 20) / width, 1 - MARGIN / height, "\n".join([
        title or "chunkalloc heap map",
        f"{m.chunks} chunks of {m.chunk_size} B",
        f"used {m.used} chunks ({100 * m.used / m.chunks:.1f}%)",
        f"in {m.allocations} allocations",
        f"free {m.free} chunks in {m.free_runs} runs",
        f"largest free run {m.largest_free} chunks",
        f"  = {m.largest_free * m.chunk_size} B",
        f"fragmentation {m.fragmentation:.1f}%",
        "(umm_malloc's metric)",
    ]), va="top", fontsize=9, family="monospace")
    lengths = [n for n in m.run_lengths() if n]
    if lengths:
        cax = fig.add_axes((1 - (PANEL - 20) / width, MARGIN / height, (PANEL - 60) / width,
                            12 / height))
        bar = fig.colorbar(plt.cm.ScalarMappable(LogNorm(1, max(2, max(lengths))), COLORMAP),
                           cax=cax, orientation="horizontal")
        bar.set_label("allocation size (chunks); grey = free", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    try:
        return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)


def plot_replay(results: list[Result], path: str | os.PathLike[str], title: str = "") -> Path:
    """Bar charts of failures, peak usage and internal waste per chunk size,
    best-fit on and off side by side."""
    sizes = sorted({r.chunk_size for r in results})
    x = np.arange(len(sizes))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=DPI)
    panels: list[tuple[str, Callable[[Result], float]]] = [
        ("failures", lambda r: r.failures), ("peak usage (% of pool)", lambda r: r.peak_usage),
        ("internal waste at peak (%)", lambda r: r.waste)]
    for ax, (label, value) in zip(axes, panels):
        for k, bf in enumerate((True, False)):
            ys = [next((value(r) for r in results if r.chunk_size == cs and r.best_fit == bf), 0)
                  for cs in sizes]
            ax.bar(x + (k - 0.5) * 0.4, ys, 0.4, label=f"best-fit {'on' if bf else 'off'}")
        ax.set_xticks(x, [str(cs) for cs in sizes])
        ax.set_xlabel("chunk size (B)")
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)
