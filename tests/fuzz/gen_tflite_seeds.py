#!/usr/bin/env python3
"""gen_tflite_seeds.py: write small synthetic TFLite flatbuffers as the seed
corpus of fuzz_tflite (tests/fuzz/corpus/tflite/). They have YAMNet's first
layers (float conv, float depthwise, int8 per-tensor pointwise, an int8
per-channel depthwise behind DEQUANTIZE), so the fuzzer starts deep inside
the reader and the weight walk; the real model is never committed.

    python3 tests/fuzz/gen_tflite_seeds.py tests/fuzz/corpus/tflite
"""
import random
import struct
import sys


class Writer:
    """Front-to-back flatbuffer writer: children always follow the field that
    points at them, so every uoffset is positive, as in real files."""

    def __init__(self):
        self.b = bytearray(8)

    def align(self, n, mod=0):
        while len(self.b) % n != mod:
            self.b.append(0)

    def patch(self, at, target):
        struct.pack_into('<I', self.b, at, target - at)

    def value(self, v):
        kind, x = v
        if kind == 'table':
            return self.table(x)
        self.align(4)
        if kind == 'str':
            pos = len(self.b)
            data = x.encode()
            self.b += struct.pack('<I', len(data)) + data + b'\0'
            return pos
        if kind == 'bytes':
            pos = len(self.b)
            self.b += struct.pack('<I', len(x)) + bytes(x)
            return pos
        if kind in ('i32s', 'f32s'):
            pos = len(self.b)
            fmt = '<i' if kind == 'i32s' else '<f'
            self.b += struct.pack('<I', len(x)) + b''.join(struct.pack(fmt, e) for e in x)
            return pos
        if kind == 'i64s':
            self.align(8, 4)
            pos = len(self.b)
            self.b += struct.pack('<I', len(x)) + b''.join(struct.pack('<q', e) for e in x)
            return pos
        if kind == 'tables':
            pos = len(self.b)
            self.b += struct.pack('<I', len(x)) + bytes(4 * len(x))
            for i, t in enumerate(x):
                self.patch(pos + 4 + 4 * i, self.table(t))
            return pos
        raise ValueError(kind)

    def table(self, fields):
        """fields: {index: (kind, value)}; scalars 'u8', 'i32', 'u32'."""
        nf = max(fields) + 1 if fields else 0
        layout, off = {}, 4
        for i in sorted(fields):
            layout[i] = off
            off += 4
        self.align(4)
        vt = len(self.b)
        self.b += struct.pack('<HH', 4 + 2 * nf, off)
        for i in range(nf):
            self.b += struct.pack('<H', layout.get(i, 0))
        self.align(4)
        tpos = len(self.b)
        self.b += struct.pack('<i', tpos - vt) + bytes(off - 4)
        refs = []
        for i, (kind, x) in sorted(fields.items()):
            at = tpos + layout[i]
            if kind == 'u8':
                struct.pack_into('<B', self.b, at, x)
            elif kind in ('i32', 'u32'):
                struct.pack_into('<i' if kind == 'i32' else '<I', self.b, at, x)
            else:
                refs.append((at, (kind, x)))
        for at, v in refs:
            self.patch(at, self.value(v))
        return tpos

    def finish(self, root):
        pos = self.table(root)
        struct.pack_into('<I', self.b, 0, pos)
        self.b[4:8] = b'TFL3'
        return bytes(self.b)


CONV, DW, DEQ, FC, MEAN = 3, 4, 6, 9, 40


def model(rng, layers=1, per_channel=True):
    codes = [CONV, DW, DEQ, FC, MEAN]
    tensors, buffers, ops = [], [{}], []

    def tensor(shape, ttype=0, data=None, scale=None, qdim=0, name='t'):
        b = 0
        if data is not None:
            buffers.append({0: ('bytes', data)})
            b = len(buffers) - 1
        t = {0: ('i32s', shape), 1: ('u8', ttype), 2: ('u32', b), 3: ('str', name)}
        if scale is not None:
            t[4] = ('table', {2: ('f32s', scale), 3: ('i64s', [0] * len(scale)), 6: ('i32', qdim)})
        tensors.append(t)
        return len(tensors) - 1

    def floats(n):
        return b''.join(struct.pack('<f', rng.uniform(-0.5, 0.5)) for _ in range(n))

    def int8s(n):
        return bytes(rng.randrange(256) for _ in range(n))

    def op(code, ins, outs, opts):
        ops.append({0: ('u32', codes.index(code)), 1: ('i32s', ins), 2: ('i32s', outs),
                    3: ('u8', 1 if code == CONV else 2), 4: ('table', opts)})

    x = tensor([1, 96, 64, 1], name='input')
    w = tensor([32, 3, 3, 1], 0, floats(288), name='conv1')
    b = tensor([32], 0, floats(32), name='bias1')
    y = tensor([1, 48, 32, 32], name='act1')
    op(CONV, [x, w, b], [y], {0: ('u8', 0), 1: ('i32', 2), 2: ('i32', 2), 3: ('u8', 1)})
    h, wd, c = 48, 32, 32
    for l, (s, co) in enumerate([(1, 64), (2, 128)][:layers]):
        if per_channel and l == 1:
            q = tensor([1, 3, 3, c], 9, int8s(9 * c), [0.01 + 0.001 * i for i in range(c)], 3)
            dw = tensor([1, 3, 3, c], name='dq')
            ops.append({0: ('u32', codes.index(DEQ)), 1: ('i32s', [q]), 2: ('i32s', [dw])})
        else:
            dw = tensor([1, 3, 3, c], 0, floats(9 * c), name='dw')
        db = tensor([c], 0, floats(c))
        h, wd = (h + s - 1) // s, (wd + s - 1) // s
        z = tensor([1, h, wd, c])
        op(DW, [y, dw, db], [z], {0: ('u8', 0), 1: ('i32', s), 2: ('i32', s), 3: ('i32', 1),
                                  4: ('u8', 1)})
        pw = tensor([co, 1, 1, c], 9, int8s(co * c), [0.004])
        pb = tensor([co], 0, floats(co))
        y = tensor([1, h, wd, co])
        op(CONV, [z, pw, pb], [y], {0: ('u8', 0), 1: ('i32', 1), 2: ('i32', 1), 3: ('u8', 1)})
        c = co
    sub = {0: ('tables', tensors), 1: ('i32s', [x]), 2: ('i32s', [y]), 3: ('tables', ops)}
    root = {0: ('u32', 3), 1: ('tables', [{0: ('u8', k), 3: ('i32', k)} for k in codes]),
            2: ('tables', [sub]), 4: ('tables', buffers)}
    return Writer().finish(root)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/tflite'
    rng = random.Random(20261204)
    seeds = {
        'yamnet_layer2.tflite': model(rng, 1),
        'yamnet_layer3_dequant.tflite': model(rng, 2),
        'yamnet_layer3_per_tensor.tflite': model(rng, 2, per_channel=False),
        'empty_model.tflite': Writer().finish({0: ('u32', 3)}),
    }
    for name, data in seeds.items():
        with open(f'{out}/{name}', 'wb') as f:
            f.write(data)
        print(f'{out}/{name}: {len(data)} bytes')


if __name__ == '__main__':
    main()
