# xorshift32: the same pseudo-random sequence on every runtime from a fixed seed, for the
# model tests and the benchmark workloads (random on CPython and MicroPython differ).


class Rng:
    """xorshift32 from seed (0 counts as 1)."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF or 1

    def next(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def below(self, n):
        return self.next() % n

    def choice(self, seq):
        return seq[self.below(len(seq))]
