// chunkalloc_c for CPython: the C kernels (chunkalloc_kernel.h) as an extension
// module with the functions of the MicroPython native module (chunkalloc_c.c),
// same arguments and results. Built by setuptools (setup.py) when the project
// is installed; where it cannot be built, CPython runs the pure kernels.

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>
#include "chunkalloc_kernel.h"

// an int in -CK_MAX..CK_MAX into *v (1), else 0 (no error left set)
static int small(PyObject *o, long *v) {
    if (!PyLong_Check(o)) {
        return 0;
    }
    int overflow;
    long x = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        *v = overflow > 0 ? (long)CK_MAX + 1 : -(long)CK_MAX - 1;
        return overflow != 0;  // still an int: out of range
    }
    *v = x;
    return 1;
}

static int valid_align(long align) {
    return align >= 1 && align <= CK_MAX && (align & (align - 1)) == 0;
}

// the buffers of one call, released by done()
typedef struct {
    Py_buffer bits, state;
    int have_bits, have_state;
} bufs_t;

static void done(bufs_t *f) {
    if (f->have_bits) {
        PyBuffer_Release(&f->bits);
    }
    if (f->have_state) {
        PyBuffer_Release(&f->state);
    }
}

static int get_state(PyObject *o, Py_buffer *view) {
    if (PyObject_GetBuffer(o, view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0) {
        return -1;
    }
    if (view->len < (Py_ssize_t)(CK_STATE_LEN * sizeof(int32_t)) || view->itemsize != 4
        || view->format == NULL || strcmp(view->format, "i") != 0) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: state must be array('i') of the allocator");
        return -1;
    }
    return 0;
}

// the bitmap, of at least words 32-bit words (the scans' 2 * nwords; 0 for the
// whole operations, whose kernels check the state against ck_words(len))
static int get_bits(PyObject *o, Py_buffer *view, long words) {
    if (PyObject_GetBuffer(o, view, PyBUF_WRITABLE) < 0) {
        return -1;
    }
    if (words < 0 || words > (CK_MAX >> 4) || words > view->len / 4
        || ((uintptr_t)view->buf & 3) != 0) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: bitmap too short or misaligned");
        return -1;
    }
    return 0;
}

static int open_both(bufs_t *f, PyObject *bits, PyObject *state) {
    f->have_bits = f->have_state = 0;
    if (get_state(state, &f->state) < 0) {
        return -1;
    }
    f->have_state = 1;
    if (get_bits(bits, &f->bits, 0) < 0) {
        return -1;
    }
    f->have_bits = 1;
    return 0;
}

// a handle's address: a contiguous memoryview's first byte (1), else 0 (no
// error left set): free() takes an int or a view, not any buffer
static int view_address(PyObject *o, uintptr_t *at) {
    Py_buffer v;
    if (!PyMemoryView_Check(o) || PyObject_GetBuffer(o, &v, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    *at = (uintptr_t)v.buf;
    PyBuffer_Release(&v);
    return 1;
}

static PyObject *c_alloc(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long size, align;
    if (n != 4) {
        PyErr_SetString(PyExc_TypeError, "alloc(bits, state, size, align)");
        return NULL;
    }
    if (!small(args[2], &size) || !small(args[3], &align) || size < 1 || !valid_align(align)) {
        return PyLong_FromLong(-2);
    }
    bufs_t f;
    if (open_both(&f, args[0], args[1]) < 0) {
        done(&f);
        return NULL;
    }
    uint32_t words = ck_words((size_t)f.bits.len);
    long r = ck_check(f.state.buf, words);
    if (r == 0) {  // size > CK_MAX: larger than any heap
        r = size > CK_MAX ? -1 : ck_alloc(f.bits.buf, words, f.state.buf, (int32_t)size, (int32_t)align);
    }
    done(&f);
    return PyLong_FromLong(r);
}

static PyObject *c_release(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    if (n != 3) {
        PyErr_SetString(PyExc_TypeError, "release(bits, state, handle)");
        return NULL;
    }
    bufs_t f;
    if (open_both(&f, args[0], args[1]) < 0) {
        done(&f);
        return NULL;
    }
    int32_t *s = f.state.buf;
    long offset = -1;
    uintptr_t at;
    if (!small(args[2], &offset) && view_address(args[2], &at)) {
        uintptr_t heap = ((uintptr_t)(uint32_t)s[CK_BASE_HI] << 30) | (uint32_t)s[CK_BASE];
        offset = ck_offset_in(s, heap, at);
    }
    long r = offset < 0 || offset > CK_MAX ? -1
        : ck_release(f.bits.buf, ck_words((size_t)f.bits.len), s, (int32_t)offset);
    done(&f);
    return PyLong_FromLong(r);
}

static PyObject *c_resize(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long offset, size, align;
    if (n != 5) {
        PyErr_SetString(PyExc_TypeError, "resize(bits, state, offset, size, align)");
        return NULL;
    }
    if (!small(args[2], &offset) || !small(args[3], &size) || !small(args[4], &align)
        || offset < 0 || offset > CK_MAX || size < 1 || !valid_align(align)) {
        return PyLong_FromLong(-2);
    }
    bufs_t f;
    if (open_both(&f, args[0], args[1]) < 0) {
        done(&f);
        return NULL;
    }
    long r;
    uint32_t words = ck_words((size_t)f.bits.len);
    if (size > CK_MAX) {  // valid but larger than any heap: it must move (and fails)
        r = ck_check(f.state.buf, words);
        if (r == 0) {
            r = ck_head(f.bits.buf, f.state.buf, (int32_t)offset) < 0 ? -2 : -1;
        }
    } else {
        r = ck_resize(f.bits.buf, words, f.state.buf, (int32_t)offset, (int32_t)size,
            (int32_t)align);
    }
    done(&f);
    return PyLong_FromLong(r);
}

// an int argument in range, else a ValueError (the scans and fills)
static int int_arg(PyObject *o, long *v) {
    if (!small(o, v) || *v < -CK_MAX || *v > CK_MAX) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "chunkalloc_c: int argument out of range");
        }
        return -1;
    }
    return 0;
}

static PyObject *c_next_bit(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long nwords, pos, value;
    Py_buffer b;
    if (n != 4 || int_arg(args[1], &nwords) < 0 || int_arg(args[2], &pos) < 0
        || int_arg(args[3], &value) < 0 || pos < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "next_bit(bits, nwords, pos >= 0, value)");
        }
        return NULL;
    }
    if (get_bits(args[0], &b, nwords << 1) < 0) {
        return NULL;
    }
    long r = ck_next_bit(b.buf, nwords, pos, value);
    PyBuffer_Release(&b);
    return PyLong_FromLong(r);
}

static PyObject *c_run_end(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long nwords, i;
    Py_buffer b;
    if (n != 3 || int_arg(args[1], &nwords) < 0 || int_arg(args[2], &i) < 0 || i < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "run_end(bits, nwords, i >= 0)");
        }
        return NULL;
    }
    if (get_bits(args[0], &b, nwords << 1) < 0) {
        return NULL;
    }
    long r = ck_run_end(b.buf, nwords, i);
    PyBuffer_Release(&b);
    return PyLong_FromLong(r);
}

static PyObject *c_find(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long v[7];
    Py_buffer b;
    if (n != 7) {
        PyErr_SetString(PyExc_TypeError, "find(bits, nwords, k, first, step, hint, window)");
        return NULL;
    }
    for (int j = 1; j < 7; j++) {
        if (int_arg(args[j], &v[j]) < 0) {
            return NULL;
        }
    }
    if (v[5] < 0) {
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: negative hint");
        return NULL;
    }
    if (get_bits(args[0], &b, v[1] << 1) < 0) {
        return NULL;
    }
    long r = ck_find(b.buf, v[1], v[2], v[3], v[4], v[5], v[6]);
    PyBuffer_Release(&b);
    return PyLong_FromLong(r);
}

static PyObject *c_fill(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long start, count, value;
    Py_buffer b;
    if (n != 4 || int_arg(args[1], &start) < 0 || int_arg(args[2], &count) < 0
        || int_arg(args[3], &value) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "fill(bits, start, n, value)");
        }
        return NULL;
    }
    if (get_bits(args[0], &b, 0) < 0) {
        return NULL;
    }
    if (count > 0 && (start < 0 || start + count > (long)(b.len / 4) * 32)) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: fill outside the bitmap");
        return NULL;
    }
    ck_fill(b.buf, start, count, value);
    PyBuffer_Release(&b);
    Py_RETURN_NONE;
}

static PyObject *c_copy(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long dst, src, count;
    Py_buffer h;
    if (n != 4 || int_arg(args[1], &dst) < 0 || int_arg(args[2], &src) < 0
        || int_arg(args[3], &count) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "copy(heap, dst, src, n)");
        }
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &h, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (count < 0 || dst < 0 || src < 0 || dst + count > h.len || src + count > h.len) {
        PyBuffer_Release(&h);
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: range outside the heap");
        return NULL;
    }
    memmove((char *)h.buf + dst, (char *)h.buf + src, count);
    PyBuffer_Release(&h);
    Py_RETURN_NONE;
}

static PyObject *c_zero(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long start, count;
    Py_buffer h;
    if (n != 3 || int_arg(args[1], &start) < 0 || int_arg(args[2], &count) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "zero(heap, start, n)");
        }
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &h, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (count < 0 || start < 0 || start + count > h.len) {
        PyBuffer_Release(&h);
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: range outside the heap");
        return NULL;
    }
    memset((char *)h.buf + start, 0, count);
    PyBuffer_Release(&h);
    Py_RETURN_NONE;
}

static PyObject *c_offset_of(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    Py_buffer h, v;
    if (n != 2) {
        PyErr_SetString(PyExc_TypeError, "offset_of(heap, view)");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &h, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &v, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&h);
        return NULL;
    }
    PyObject *r = PyLong_FromSsize_t((char *)v.buf - (char *)h.buf);
    PyBuffer_Release(&h);
    PyBuffer_Release(&v);
    return r;
}

static PyObject *c_address_of(PyObject *m, PyObject *buf) {
    Py_buffer v;
    if (PyObject_GetBuffer(buf, &v, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *r = PyLong_FromSize_t((size_t)(uintptr_t)v.buf);
    PyBuffer_Release(&v);
    return r;
}

// -- op: one method of ChunkAllocator in one call (see chunkalloc_c.c) ----------
// It takes the buffers anew on each call (holding exports would keep the
// garbage collector from clearing a cycle through the heap's memoryview).

enum { OP_TRY_ALLOC, OP_ALLOC, OP_FREE, OP_REALLOC };

typedef struct {
    PyObject_HEAD
    long kind;
    PyObject *bits, *state, *heap, *pool, *method;
    vectorcallfunc vectorcall;
} op_obj_t;

static PyObject *op_fallback(op_obj_t *op, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *call[8];
    if (n + nk > 7) {
        PyErr_SetString(PyExc_TypeError, "chunkalloc_c: too many arguments");
        return NULL;
    }
    call[0] = op->pool;
    for (Py_ssize_t j = 0; j < n + nk; j++) {
        call[j + 1] = args[j];
    }
    return PyObject_Vectorcall(op->method, call, n + 1, kwnames);
}

static PyObject *op_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    op_obj_t *op = (op_obj_t *)self;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames == NULL || PyTuple_GET_SIZE(kwnames) == 0) {
        bufs_t f;
        if (open_both(&f, op->bits, op->state) < 0) {
            done(&f);
            return NULL;
        }
        uint32_t *b = f.bits.buf;
        uint32_t words = ck_words((size_t)f.bits.len);
        int32_t *s = f.state.buf;
        PyObject *result = NULL;
        Py_buffer heap;
        long size, align = 1, offset;
        switch (op->kind) {
            case OP_TRY_ALLOC:
            case OP_ALLOC:
                if ((n == 1 || (n == 2 && small(args[1], &align))) && small(args[0], &size)
                    && size >= 1 && size <= CK_MAX && valid_align(align)) {
                    long r = ck_alloc_valid(b, words, s, (int32_t)size, (int32_t)align);
                    if (r >= 0 || (r == -1 && op->kind == OP_TRY_ALLOC)) {
                        result = PyLong_FromLong(r);
                    }
                }
                break;
            case OP_FREE:
                if (n == 1) {
                    uintptr_t at;
                    if (!small(args[0], &offset)) {
                        offset = -1;
                        if (view_address(args[0], &at)
                            && PyObject_GetBuffer(op->heap, &heap, PyBUF_SIMPLE) == 0) {
                            offset = ck_offset_in(s, (uintptr_t)heap.buf, at);
                            PyBuffer_Release(&heap);
                        }
                        PyErr_Clear();
                    }
                    if (offset >= 0 && offset <= CK_MAX
                        && ck_release(b, words, s, (int32_t)offset) > 0) {
                        Py_INCREF(Py_None);
                        result = Py_None;
                    }
                }
                break;
            case OP_REALLOC:
                if ((n == 2 || (n == 3 && small(args[2], &align))) && small(args[0], &offset)
                    && small(args[1], &size) && offset >= 0 && offset <= CK_MAX
                    && size >= 1 && size <= CK_MAX && valid_align(align)) {
                    if (PyObject_GetBuffer(op->heap, &heap, PyBUF_WRITABLE) < 0) {
                        done(&f);
                        return NULL;
                    }
                    long r = ck_realloc(b, words, s, heap.buf, (size_t)heap.len, (int32_t)offset,
                        (int32_t)size, (int32_t)align);
                    PyBuffer_Release(&heap);
                    if (r >= 0) {
                        result = PyLong_FromLong(r);
                    }
                }
                break;
        }
        done(&f);
        if (result != NULL) {
            return result;
        }
    }
    return op_fallback(op, args, nargsf, kwnames);
}

static int op_traverse(op_obj_t *op, visitproc visit, void *arg) {
    Py_VISIT(op->pool);
    Py_VISIT(op->method);
    Py_VISIT(op->bits);
    Py_VISIT(op->state);
    Py_VISIT(op->heap);
    return 0;
}

static int op_clear(op_obj_t *op) {
    Py_CLEAR(op->pool);
    Py_CLEAR(op->method);
    Py_CLEAR(op->bits);
    Py_CLEAR(op->state);
    Py_CLEAR(op->heap);
    return 0;
}

static void op_dealloc(op_obj_t *op) {
    PyObject_GC_UnTrack(op);
    op_clear(op);
    PyObject_GC_Del(op);
}

static PyTypeObject op_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "chunkalloc_c.op",
    .tp_basicsize = sizeof(op_obj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(op_obj_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)op_traverse,
    .tp_clear = (inquiry)op_clear,
    .tp_dealloc = (destructor)op_dealloc,
};

static PyObject *c_op(PyObject *m, PyObject *const *args, Py_ssize_t n) {
    long kind;
    if (n != 6) {
        PyErr_SetString(PyExc_TypeError, "op(kind, bits, state, heap, pool, method)");
        return NULL;
    }
    if (int_arg(args[0], &kind) < 0) {
        return NULL;
    }
    if (kind < OP_TRY_ALLOC || kind > OP_REALLOC) {
        PyErr_SetString(PyExc_ValueError, "chunkalloc_c: bad op");
        return NULL;
    }
    op_obj_t *op = PyObject_GC_New(op_obj_t, &op_type);
    if (op == NULL) {
        return NULL;
    }
    op->kind = kind;
    op->vectorcall = op_vectorcall;
    op->bits = op->state = op->heap = op->pool = op->method = NULL;
    bufs_t f;  // check the geometry once
    Py_buffer heap;
    int bad = open_both(&f, args[1], args[2]) < 0;
    if (!bad) {
        int32_t *s = f.state.buf;
        bad = PyObject_GetBuffer(args[3], &heap, PyBUF_WRITABLE) < 0;
        if (!bad) {
            if (ck_check(s, ck_words((size_t)f.bits.len)) != 0
                || (size_t)heap.len >> s[CK_SHIFT] < (size_t)s[CK_CHUNKS]) {
                PyErr_SetString(PyExc_ValueError, "chunkalloc_c: heap shorter than the state says");
                bad = 1;
            }
            PyBuffer_Release(&heap);
        }
    }
    done(&f);
    if (bad) {
        Py_DECREF(op);
        return NULL;
    }
    PyObject **keep[5] = {&op->bits, &op->state, &op->heap, &op->pool, &op->method};
    for (int j = 0; j < 5; j++) {
        Py_INCREF(args[j + 1]);
        *keep[j] = args[j + 1];
    }
    PyObject_GC_Track(op);
    return (PyObject *)op;
}

static PyMethodDef methods[] = {
    {"alloc", (PyCFunction)(void (*)(void))c_alloc, METH_FASTCALL, NULL},
    {"release", (PyCFunction)(void (*)(void))c_release, METH_FASTCALL, NULL},
    {"resize", (PyCFunction)(void (*)(void))c_resize, METH_FASTCALL, NULL},
    {"next_bit", (PyCFunction)(void (*)(void))c_next_bit, METH_FASTCALL, NULL},
    {"run_end", (PyCFunction)(void (*)(void))c_run_end, METH_FASTCALL, NULL},
    {"find", (PyCFunction)(void (*)(void))c_find, METH_FASTCALL, NULL},
    {"fill", (PyCFunction)(void (*)(void))c_fill, METH_FASTCALL, NULL},
    {"copy", (PyCFunction)(void (*)(void))c_copy, METH_FASTCALL, NULL},
    {"zero", (PyCFunction)(void (*)(void))c_zero, METH_FASTCALL, NULL},
    {"offset_of", (PyCFunction)(void (*)(void))c_offset_of, METH_FASTCALL, NULL},
    {"address_of", (PyCFunction)c_address_of, METH_O, NULL},
    {"op", (PyCFunction)(void (*)(void))c_op, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "chunkalloc_c", "chunkalloc's C kernels (firmware/c/)", -1, methods
};

PyMODINIT_FUNC PyInit_chunkalloc_c(void) {
    if (PyType_Ready(&op_type) < 0) {
        return NULL;
    }
    return PyModule_Create(&module);
}
