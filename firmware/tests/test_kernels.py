# The viper kernels give the pure kernels' results, bit for bit, on random
# bitmaps of every texture (runs of free chunks short and long, crossing word
# boundaries or not). Skips where the port has no viper (and on CPython).

import chunkalloc
import chunkalloc_pure as pure
from fwtest import Rng, Skip


def viper():
    if chunkalloc.chunkalloc_viper is None:
        raise Skip("no viper kernels on this port")
    return chunkalloc.chunkalloc_viper


def random_bitmap(rng, nwords):
    bits = bytearray(nwords << 3)
    texture = rng.below(4)
    for i in range(len(bits)):
        if texture == 0:
            bits[i] = rng.below(256)
        elif texture == 1:
            bits[i] = (0, 0xFF, rng.below(256))[rng.below(3)]
        else:  # sparse or dense used chunks: long and short gaps
            v = 0
            for j in range(8):
                if rng.below(10) < texture * 3:
                    v |= 1 << j
            bits[i] = v
    return bits


def test_viper_find_agrees_with_pure_find():
    v = viper()
    rng = Rng(7)
    for _ in range(3000):
        nwords = 1 + rng.below(6)
        bits = random_bitmap(rng, nwords)
        k = 1 + rng.below(40)
        step = 1 << rng.below(4)
        first = rng.below(step)
        hint = rng.below(nwords << 5)
        window = rng.choice((0, 1, 8))
        args = (bits, nwords, k, first, step, hint, window)
        assert v.find(*args) == pure.find(*args), args


def test_viper_scans_agree_with_pure_scans():
    v = viper()
    rng = Rng(11)
    for _ in range(2000):
        nwords = 1 + rng.below(4)
        bits = random_bitmap(rng, nwords)
        pos = rng.below((nwords << 5) + 2)
        value = rng.below(2)
        assert v.next_bit(bits, nwords, pos, value) == pure.next_bit(bits, nwords, pos, value)
        i = rng.below(nwords << 5)
        assert v.run_end(bits, nwords, i) == pure.run_end(bits, nwords, i)


def test_viper_fill_agrees_with_pure_fill():
    v = viper()
    rng = Rng(13)
    for _ in range(2000):
        nwords = 1 + rng.below(4)
        bits = random_bitmap(rng, nwords)
        start = rng.below(nwords << 6)
        n = rng.below((nwords << 6) - start + 1)
        value = rng.below(2)
        mine = bytearray(bits)
        theirs = bytearray(bits)
        v.fill(mine, start, n, value)
        pure.fill(theirs, start, n, value)
        assert mine == theirs, (start, n, value)
