"""The library's RAM on a board: what `import chunkalloc` and a pool of each kernel take
from the GC heap, measured on the emulated boards with gc.mem_free(), against budgets.

Each measurement runs in a fresh session (mpremote soft-resets the board first): the
pool's heap and bitmap are made before the first reading, so what is counted is the
library's code and data, the pool object and one alloc/free. The .mpy files are those
of the board's build (qemu-m3 gets the RP2040's armv6m build, qemu-rv32 the ESP32-C3's
rv32imc one); frozen, the firmware image of `chunkalloc firmware`.

Budgets (KB = 1024 B):
- qemu-m3, from issue 15: 10 KB with the C kernel, 16 KB with viper (ESP32's path),
  3 KB frozen; the pure kernel gets the C kernel's 10 KB (interface + pure is smaller).
- qemu-rv32 (the ESP32-C3's build): viper 16 KB as on qemu-m3 (the interface's bytecode
  and viper's machine code come out the same size); C 11 KB, as the rv32imc native
  module is ~700 B larger than the armv6m one; pure 14 KB, as RAM there lies past 2**30,
  where a pure pool loads a native kernel too, for view offsets that allocate nothing
  (chunkalloc.py says why): the C kernel's 5 KB on top of interface and pure.
"""

from __future__ import annotations

import re

import pytest

from chunkalloc_host.boards import load_board
from chunkalloc_host.cmd_firmware import frozen_firmware
from chunkalloc_host.images import emulator, image_file
from chunkalloc_host.target import BoardTarget, open_target
from test_qemu_boards import need

KB = 1024
BUDGETS = {
    "qemu-m3": {"c": 10 * KB, "viper": 16 * KB, "pure": 10 * KB},
    "qemu-rv32": {"c": 11 * KB, "viper": 16 * KB, "pure": 14 * KB},
}
FROZEN_BUDGET = 3 * KB  # qemu-m3, each kernel of the image (c compiled in as a user C module, viper frozen)
CHUNKS, CHUNK_SIZE = 16, 64

# KERNEL "" is `import chunkalloc` alone
MEASURE = """import gc, sys
gc.collect()
heap = bytearray({size})
bits = bytearray(8)
before = set(sys.modules)
gc.collect()
free = gc.mem_free()
import chunkalloc
kernel = {kernel!r}
if kernel:
    pool = chunkalloc.ChunkAllocator(heap, bits, {chunk_size}, kernel)
    pool.free(pool.alloc(100))
gc.collect()
print('RAM', free - gc.mem_free(), ','.join(sorted(m for m in sys.modules if m not in before)))
"""
RESULT = re.compile(r"^RAM (\d+) (\S*)$", re.M)


def measure(target: BoardTarget, kernel: str) -> tuple[int, list[str]]:
    """Bytes of GC heap taken, and the modules loaded, by import chunkalloc (and a pool
    of kernel)."""
    code = MEASURE.format(size=CHUNKS * CHUNK_SIZE, chunk_size=CHUNK_SIZE, kernel=kernel)
    out = target.run(code, capture=True, timeout=120).stdout
    found = RESULT.search(out)
    assert found, f"no measurement from {target.board.name}:\n{out}"
    return int(found.group(1)), found.group(2).split(",")


@pytest.fixture(scope="module", params=sorted(BUDGETS))
def board(request: pytest.FixtureRequest):
    name: str = request.param
    need(name)
    target = open_target(name)
    assert isinstance(target, BoardTarget)
    yield target
    target.close()


def test_import_chunkalloc_loads_no_kernel(board: BoardTarget):
    used, modules = measure(board, "")
    print(f"{board.board.name}: import chunkalloc: {used} B")
    assert modules == ["chunkalloc"], modules


@pytest.mark.parametrize("kernel", ["c", "viper", "pure"])
def test_a_pool_of_each_kernel_fits_its_ram_budget(board: BoardTarget, kernel: str):
    used, modules = measure(board, kernel)
    budget = BUDGETS[board.board.name][kernel]
    print(f"{board.board.name}: import chunkalloc + a {kernel} pool: {used} B (budget {budget})")
    assert f"chunkalloc_{kernel}" in modules
    others = {f"chunkalloc_{k}" for k in ("c", "viper", "pure") if k != kernel}
    if kernel != "pure":  # a native pool loads no other kernel
        assert not others & set(modules), modules
    assert used <= budget, f"{board.board.name}, {kernel} kernel: {used} B > {budget} B"


def test_frozen_chunkalloc_fits_its_ram_budget():
    need("qemu-m3")
    m3 = load_board("qemu-m3")
    folder, _ = frozen_firmware(m3)
    with emulator(m3, image_file(m3, folder)) as url:
        target = BoardTarget(m3, url)  # nothing mounted: the modules come from the image
        imported, modules = measure(target, "")
        used = {kernel: measure(target, kernel)[0] for kernel in ("c", "viper")}
    print(f"qemu-m3 frozen: import chunkalloc {imported} B, + a pool {used} B")
    assert modules == ["chunkalloc"], modules
    for kernel, size in used.items():
        assert size <= FROZEN_BUDGET, f"frozen, {kernel}: {size} B > {FROZEN_BUDGET} B"
