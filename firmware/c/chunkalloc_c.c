// chunkalloc_c: the C kernels (chunkalloc_kernel.h) as a MicroPython dynamic
// native module. Same functions, arguments and results as chunkalloc_pure.py.
// Ints arrive as small ints (anything else: alloc and resize answer -2,
// release -1, so the Python caller runs its checks and raises with a message);
// buffers come through the buffer protocol, on every call, and the state's
// slots are checked against them (CK_CORRUPT - slot: the caller raises
// RuntimeError). Nothing here allocates, except offset_of/address_of for
// results that are no small int.
//
// Build: make MPY_DIR=/path/to/micropython ARCH=x64|armv6m|armv7m|rv32imc
// (host/chunkalloc_host/natmod.py does it for `chunkalloc build`). The same
// file is a user C module (micropython.cmake / micropython.mk beside it):
// compiled into a firmware image, with the same import name and interface;
// what only one of the two builds needs is under MICROPY_ENABLE_DYNRUNTIME.

#if MICROPY_ENABLE_DYNRUNTIME
#include "py/dynruntime.h"
#else
#include "py/runtime.h"
// firmware builds take messages as MP_ERROR_TEXT (compressible); a .mpy as strings
#define mp_raise_ValueError(msg) mp_raise_ValueError(MP_ERROR_TEXT(msg))
#define mp_raise_TypeError(msg) mp_raise_TypeError(MP_ERROR_TEXT(msg))
#endif
#include "py/objarray.h"
#include "chunkalloc_kernel.h"

// the bitmap's words (raising TypeError for a non-buffer), at least need of
// them (the scans' 2 * nwords; 0 for the whole operations, whose kernels check
// the state against *words, the bitmap's length in words)
static uint32_t *bits_of(mp_obj_t bits, mp_int_t need, uint32_t *words) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(bits, &info, MP_BUFFER_RW);
    if (need < 0 || need > (CK_MAX >> 4) || (size_t)need > info.len >> 2
        || ((uintptr_t)info.buf & 3) != 0) {
        mp_raise_ValueError("chunkalloc_c: bitmap too short or misaligned");
    }
    *words = ck_words(info.len);
    return (uint32_t *)info.buf;
}

static uint32_t *words_of(mp_obj_t bits, mp_int_t need) {
    uint32_t words;
    return bits_of(bits, need, &words);
}

static int32_t *state_of(mp_obj_t state) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(state, &info, MP_BUFFER_RW);
    if (info.len < CK_STATE_LEN * sizeof(int32_t) || info.typecode != 'i') {
        mp_raise_ValueError("chunkalloc_c: state must be array('i') of the allocator");
    }
    return (int32_t *)info.buf;
}

// a small int in 0..CK_MAX (1 if so, into *v), else 0
static int small(mp_obj_t o, mp_int_t *v) {
    if (!mp_obj_is_small_int(o)) {
        return 0;
    }
    *v = MP_OBJ_SMALL_INT_VALUE(o);
    return 1;
}

static mp_int_t int_arg(mp_obj_t o) {
    mp_int_t v;
    if (!small(o, &v) || v < -CK_MAX || v > CK_MAX) {
        mp_raise_ValueError("chunkalloc_c: int argument out of range");
    }
    return v;
}

#define RESULT(v) MP_OBJ_NEW_SMALL_INT(v)

// alloc(bits, state, size, align)
static mp_obj_t c_alloc(size_t n_args, const mp_obj_t *args) {
    mp_int_t size, align;
    if (!small(args[2], &size) || !small(args[3], &align)
        || size < 1 || align < 1 || (align & (align - 1)) != 0 || align > CK_MAX) {
        return RESULT(-2);
    }
    int32_t *s = state_of(args[1]);
    uint32_t words;
    uint32_t *b = bits_of(args[0], 0, &words);
    if (size > CK_MAX) {  // larger than any heap
        int32_t bad = ck_check(s, words);
        return RESULT(bad ? bad : -1);
    }
    return RESULT(ck_alloc_valid(b, words, s, (int32_t)size, (int32_t)align));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_alloc_obj, 4, 4, c_alloc);

// a handle's address: a memoryview's first byte (1), else 0: free() takes an
// int or a view, not any buffer (free(the heap's bytearray) is refused)
static int view_address(mp_obj_t o, uintptr_t *at) {
    mp_buffer_info_t info;
    if (mp_obj_get_type(o)->name != MP_QSTR_memoryview || !mp_get_buffer(o, &info, MP_BUFFER_READ)) {
        return 0;
    }
    *at = (uintptr_t)info.buf;
    return 1;
}

// release(bits, state, handle): handle an offset, or a view inside the heap
static mp_obj_t c_release(mp_obj_t bits, mp_obj_t state, mp_obj_t handle) {
    int32_t *s = state_of(state);
    uint32_t words;
    uint32_t *b = bits_of(bits, 0, &words);
    mp_int_t offset;
    uintptr_t at;
    if (!small(handle, &offset)) {
        if (!view_address(handle, &at)) {
            return RESULT(-1);
        }
        uintptr_t heap = ((uintptr_t)(uint32_t)s[CK_BASE_HI] << 30) | (uint32_t)s[CK_BASE];
        offset = ck_offset_in(s, heap, at);
    }
    if (offset < 0 || offset > CK_MAX) {
        return RESULT(-1);
    }
    return RESULT(ck_release(b, words, s, (int32_t)offset));
}
static MP_DEFINE_CONST_FUN_OBJ_3(c_release_obj, c_release);

// resize(bits, state, offset, size, align)
static mp_obj_t c_resize(size_t n_args, const mp_obj_t *args) {
    mp_int_t offset, size, align;
    if (!small(args[2], &offset) || !small(args[3], &size) || !small(args[4], &align)
        || offset < 0 || offset > CK_MAX) {
        return RESULT(-2);
    }
    int32_t *s = state_of(args[1]);
    uint32_t words;
    uint32_t *b = bits_of(args[0], 0, &words);
    if (size > CK_MAX) {  // valid but larger than any heap: it must move (and fails)
        if (align < 1 || (align & (align - 1)) != 0 || align > CK_MAX) {
            return RESULT(-2);
        }
        int32_t bad = ck_check(s, words);
        if (bad) {
            return RESULT(bad);
        }
        return RESULT(ck_head(b, s, (int32_t)offset) < 0 ? -2 : -1);
    }
    if (size < 1 || align < 1 || align > CK_MAX) {
        return RESULT(-2);
    }
    return RESULT(ck_resize(b, words, s, (int32_t)offset, (int32_t)size, (int32_t)align));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_resize_obj, 5, 5, c_resize);

// -- the scans on their own, as in chunkalloc_pure.py ---------------------------

static mp_obj_t c_next_bit(size_t n_args, const mp_obj_t *args) {
    mp_int_t nwords = int_arg(args[1]);
    const uint32_t *b = words_of(args[0], nwords << 1);
    mp_int_t pos = int_arg(args[2]);
    if (pos < 0) {
        mp_raise_ValueError("chunkalloc_c: negative position");
    }
    return RESULT(ck_next_bit(b, nwords, pos, int_arg(args[3])));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_next_bit_obj, 4, 4, c_next_bit);

static mp_obj_t c_run_end(mp_obj_t bits, mp_obj_t nwords_obj, mp_obj_t i_obj) {
    mp_int_t nwords = int_arg(nwords_obj);
    const uint32_t *b = words_of(bits, nwords << 1);
    mp_int_t i = int_arg(i_obj);
    if (i < 0) {
        mp_raise_ValueError("chunkalloc_c: negative chunk");
    }
    return RESULT(ck_run_end(b, nwords, i));
}
static MP_DEFINE_CONST_FUN_OBJ_3(c_run_end_obj, c_run_end);

// find(bits, nwords, k, first, step, hint, window)
static mp_obj_t c_find(size_t n_args, const mp_obj_t *args) {
    mp_int_t nwords = int_arg(args[1]);
    const uint32_t *b = words_of(args[0], nwords << 1);
    mp_int_t hint = int_arg(args[5]);
    if (hint < 0) {
        mp_raise_ValueError("chunkalloc_c: negative hint");
    }
    return RESULT(ck_find(b, nwords, int_arg(args[2]), int_arg(args[3]), int_arg(args[4]),
        hint, int_arg(args[6])));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_find_obj, 7, 7, c_find);

// fill(bits, start, n, value)
static mp_obj_t c_fill(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(args[0], &info, MP_BUFFER_RW);
    mp_int_t start = int_arg(args[1]);
    mp_int_t n = int_arg(args[2]);
    if (n > 0 && (start < 0 || (size_t)(start + n) > (info.len >> 2) << 5
                  || ((uintptr_t)info.buf & 3) != 0)) {
        mp_raise_ValueError("chunkalloc_c: fill outside the bitmap");
    }
    ck_fill((uint32_t *)info.buf, start, n, int_arg(args[3]));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_fill_obj, 4, 4, c_fill);

static uint8_t *bytes_of(mp_obj_t buf, mp_int_t start, mp_int_t n) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(buf, &info, MP_BUFFER_RW);
    if (start < 0 || n < 0 || (size_t)(start + n) > info.len) {
        mp_raise_ValueError("chunkalloc_c: range outside the heap");
    }
    return (uint8_t *)info.buf + start;
}

// copy(heap, dst, src, n): regions that do not overlap
static mp_obj_t c_copy(size_t n_args, const mp_obj_t *args) {
    mp_int_t n = int_arg(args[3]);
    uint8_t *d = bytes_of(args[0], int_arg(args[1]), n);
    ck_copy(d, bytes_of(args[0], int_arg(args[2]), n), (uint32_t)n);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_copy_obj, 4, 4, c_copy);

static mp_obj_t c_zero(mp_obj_t heap, mp_obj_t start, mp_obj_t n_obj) {
    mp_int_t n = int_arg(n_obj);
    uint8_t *d = bytes_of(heap, int_arg(start), n);
    for (mp_int_t j = 0; j < n; j++) {
        d[j] = 0;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(c_zero_obj, c_zero);

// offset_of(heap, view): view's first byte from heap's first byte
static mp_obj_t c_offset_of(mp_obj_t heap, mp_obj_t view) {
    mp_buffer_info_t h, v;
    mp_get_buffer_raise(heap, &h, MP_BUFFER_READ);
    mp_get_buffer_raise(view, &v, MP_BUFFER_READ);
    mp_int_t d = (mp_int_t)((uintptr_t)v.buf - (uintptr_t)h.buf);
    if (d >= 0 && d <= CK_MAX) {
        return RESULT(d);
    }
    return mp_obj_new_int(d);
}
static MP_DEFINE_CONST_FUN_OBJ_2(c_offset_of_obj, c_offset_of);

static mp_obj_t c_address_of(mp_obj_t buf) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(buf, &info, MP_BUFFER_READ);
    return mp_obj_new_int_from_uint((uintptr_t)info.buf);
}
static MP_DEFINE_CONST_FUN_OBJ_1(c_address_of_obj, c_address_of);

// -- whole methods: op(kind, bits, state, heap, pool, method) ------------------
// A callable that does one method of ChunkAllocator (try_alloc, alloc, free,
// realloc) in this one native call: the allocator stores it on the instance,
// where it shadows the Python method, so a call makes no bytecode frame. When
// the arguments are bad, keywords are given, or the operation fails (alloc
// finds no room, realloc no room to move, the state is corrupted), it calls
// method(pool, *args), the Python method, which checks again and raises with a
// message.
//
// The bitmap, state and heap are taken anew on every call, address and
// length: Python can resize a bytearray or an array (bits.extend(...)), which
// moves its items and frees the old block. For the objects of bytearray,
// array and memoryview (which share one layout, mp_obj_array_t, and one
// buffer function) that is a few loads from the object; anything else goes
// through the buffer protocol each time.

enum { OP_TRY_ALLOC, OP_ALLOC, OP_FREE, OP_REALLOC };

// how a buffer's bytes are found on each call
enum { SPAN_PROTOCOL, SPAN_ARRAY, SPAN_VIEW };

// bytes, not words, where a byte serves: an op takes 48 bytes of GC heap, not 64
typedef struct {
    mp_obj_t obj;
    uint8_t how;  // SPAN_*
    uint8_t shift;  // log2 of the item size (SPAN_ARRAY, SPAN_VIEW)
} span_t;

typedef struct {
    mp_obj_base_t base;
    span_t bits, state, heap;
    mp_obj_t pool, method;
    uint8_t kind;
} op_obj_t;

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_full_type_t op_type;  // filled in by mpy_init: a .mpy has no const types
#else
static const mp_obj_type_t op_type;
#endif

// the bytes of a span now (*len of them); NULL if it has none writable
CK_INLINE uint8_t *span_bytes(const span_t *span, size_t *len) {
    if (span->how != SPAN_PROTOCOL) {
        const mp_obj_array_t *a = MP_OBJ_TO_PTR(span->obj);
        *len = a->len << span->shift;
        uint8_t *items = a->items;
        return span->how == SPAN_VIEW ? items + ((size_t)a->free << span->shift) : items;
    }
    mp_buffer_info_t info;
    if (!mp_get_buffer(span->obj, &info, MP_BUFFER_RW)) {
        return NULL;
    }
    *len = info.len;
    return info.buf;
}

// how to find obj's bytes (items of 1 << shift bytes, with typecode)
// cheaply, checked against the buffer protocol's answer now
static void span_init(span_t *span, mp_obj_t obj, mp_int_t shift, int typecode) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_RW);  // TypeError for a read-only one
    span->obj = obj;
    span->how = SPAN_PROTOCOL;
    span->shift = shift;
    const mp_obj_type_t *type = mp_obj_get_type(obj);
    const mp_obj_type_t *bytearray = &mp_type_bytearray;
    if (!MP_OBJ_TYPE_HAS_SLOT(type, buffer)
        || MP_OBJ_TYPE_GET_SLOT(type, buffer) != MP_OBJ_TYPE_GET_SLOT(bytearray, buffer)) {
        return;  // not one of bytearray, array, memoryview
    }
    const mp_obj_array_t *a = MP_OBJ_TO_PTR(obj);
    int code = a->typecode & ~MP_OBJ_ARRAY_TYPECODE_FLAG_RW;
    if (code != typecode && !(typecode == 'B' && (code == 1 || code == 'b'))) {
        return;  // items of another size: the protocol's answer serves
    }
    span->how = type->name == MP_QSTR_memoryview ? SPAN_VIEW : SPAN_ARRAY;
    size_t len;
    uint8_t *buf = span_bytes(span, &len);
    if (buf != info.buf || len != info.len) {
        span->how = SPAN_PROTOCOL;  // not the layout assumed here
    }
}

static int valid_align(mp_int_t align) {
    return align >= 1 && align <= CK_MAX && (align & (align - 1)) == 0;
}

static mp_obj_t op_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    op_obj_t *op = MP_OBJ_TO_PTR(self_in);
    size_t bits_len = 0, state_len = 0, heap_len = 0;
    uint32_t *b = (uint32_t *)span_bytes(&op->bits, &bits_len);
    int32_t *s = (int32_t *)span_bytes(&op->state, &state_len);
    if (n_kw == 0 && b != NULL && s != NULL && ((uintptr_t)b & 3) == 0
        && state_len >= CK_STATE_LEN * sizeof(int32_t)) {
        uint32_t words = ck_words(bits_len);
        mp_int_t size, align = 1, offset;
        switch (op->kind) {
            case OP_TRY_ALLOC:
            case OP_ALLOC:
                if ((n_args == 1 || (n_args == 2 && small(args[1], &align)))
                    && small(args[0], &size) && size >= 1 && size <= CK_MAX && valid_align(align)) {
                    int32_t r = ck_alloc_valid(b, words, s, (int32_t)size, (int32_t)align);
                    if (r >= 0 || (r == -1 && op->kind == OP_TRY_ALLOC)) {
                        return RESULT(r);
                    }
                }
                break;
            case OP_FREE:
                if (n_args == 1) {
                    if (!small(args[0], &offset)) {
                        uintptr_t at;
                        uint8_t *heap;
                        offset = -1;
                        if (view_address(args[0], &at)
                            && (heap = span_bytes(&op->heap, &heap_len)) != NULL) {
                            offset = ck_offset_in(s, (uintptr_t)heap, at);
                        }
                    }
                    if (offset >= 0 && offset <= CK_MAX
                        && ck_release(b, words, s, (int32_t)offset) > 0) {
                        return mp_const_none;
                    }
                }
                break;
            case OP_REALLOC:
                if ((n_args == 2 || (n_args == 3 && small(args[2], &align)))
                    && small(args[0], &offset) && small(args[1], &size)
                    && offset >= 0 && offset <= CK_MAX && size >= 1 && size <= CK_MAX
                    && valid_align(align)) {
                    uint8_t *heap = span_bytes(&op->heap, &heap_len);
                    if (heap != NULL) {
                        int32_t r = ck_realloc(b, words, s, heap, heap_len, (int32_t)offset,
                            (int32_t)size, (int32_t)align);
                        if (r >= 0) {
                            return RESULT(r);
                        }
                    }
                }
                break;
        }
    }
    // the Python method: checks, messages and the rest
    mp_obj_t call[8];
    size_t n = n_args + 2 * n_kw;
    if (n > 7) {
        mp_raise_TypeError("chunkalloc_c: too many arguments");
    }
    call[0] = op->pool;
    for (size_t j = 0; j < n; j++) {
        call[j + 1] = args[j];
    }
    return mp_call_function_n_kw(op->method, n_args + 1, n_kw, call);
}

#if !MICROPY_ENABLE_DYNRUNTIME
static MP_DEFINE_CONST_OBJ_TYPE(op_type, MP_QSTR_op, MP_TYPE_FLAG_NONE, call, op_call);
#endif

static mp_obj_t c_op(size_t n_args, const mp_obj_t *args) {
    mp_int_t kind = int_arg(args[0]);
    if (kind < OP_TRY_ALLOC || kind > OP_REALLOC) {
        mp_raise_ValueError("chunkalloc_c: bad op");
    }
    op_obj_t *op = mp_obj_malloc(op_obj_t, (mp_obj_type_t *)&op_type);
    op->kind = kind;
    span_init(&op->bits, args[1], 0, 'B');
    span_init(&op->state, args[2], 2, 'i');
    span_init(&op->heap, args[3], 0, 'B');
    op->pool = args[4];
    op->method = args[5];
    // the geometry checked once here, and again on every call
    size_t bits_len = 0, heap_len = 0;
    int32_t *s = state_of(args[2]);
    span_bytes(&op->bits, &bits_len);
    span_bytes(&op->heap, &heap_len);
    if (ck_check(s, ck_words(bits_len)) != 0
        || heap_len >> s[CK_SHIFT] < (size_t)s[CK_CHUNKS]) {
        mp_raise_ValueError("chunkalloc_c: heap or bitmap shorter than the state says");
    }
    return MP_OBJ_FROM_PTR(op);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(c_op_obj, 6, 6, c_op);

#if MICROPY_ENABLE_DYNRUNTIME
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    op_type.base.type = (void *)&mp_type_type;
    op_type.flags = MP_TYPE_FLAG_NONE;
    op_type.name = MP_QSTR_op;
    MP_OBJ_TYPE_SET_SLOT(&op_type, call, op_call, 0);
    mp_store_global(MP_QSTR_op, MP_OBJ_FROM_PTR(&c_op_obj));
    mp_store_global(MP_QSTR_alloc, MP_OBJ_FROM_PTR(&c_alloc_obj));
    mp_store_global(MP_QSTR_release, MP_OBJ_FROM_PTR(&c_release_obj));
    mp_store_global(MP_QSTR_resize, MP_OBJ_FROM_PTR(&c_resize_obj));
    mp_store_global(MP_QSTR_next_bit, MP_OBJ_FROM_PTR(&c_next_bit_obj));
    mp_store_global(MP_QSTR_run_end, MP_OBJ_FROM_PTR(&c_run_end_obj));
    mp_store_global(MP_QSTR_find, MP_OBJ_FROM_PTR(&c_find_obj));
    mp_store_global(MP_QSTR_fill, MP_OBJ_FROM_PTR(&c_fill_obj));
    mp_store_global(MP_QSTR_copy, MP_OBJ_FROM_PTR(&c_copy_obj));
    mp_store_global(MP_QSTR_zero, MP_OBJ_FROM_PTR(&c_zero_obj));
    mp_store_global(MP_QSTR_offset_of, MP_OBJ_FROM_PTR(&c_offset_of_obj));
    mp_store_global(MP_QSTR_address_of, MP_OBJ_FROM_PTR(&c_address_of_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
#else
static const mp_rom_map_elem_t chunkalloc_c_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_chunkalloc_c) },
    { MP_ROM_QSTR(MP_QSTR_op), MP_ROM_PTR(&c_op_obj) },
    { MP_ROM_QSTR(MP_QSTR_alloc), MP_ROM_PTR(&c_alloc_obj) },
    { MP_ROM_QSTR(MP_QSTR_release), MP_ROM_PTR(&c_release_obj) },
    { MP_ROM_QSTR(MP_QSTR_resize), MP_ROM_PTR(&c_resize_obj) },
    { MP_ROM_QSTR(MP_QSTR_next_bit), MP_ROM_PTR(&c_next_bit_obj) },
    { MP_ROM_QSTR(MP_QSTR_run_end), MP_ROM_PTR(&c_run_end_obj) },
    { MP_ROM_QSTR(MP_QSTR_find), MP_ROM_PTR(&c_find_obj) },
    { MP_ROM_QSTR(MP_QSTR_fill), MP_ROM_PTR(&c_fill_obj) },
    { MP_ROM_QSTR(MP_QSTR_copy), MP_ROM_PTR(&c_copy_obj) },
    { MP_ROM_QSTR(MP_QSTR_zero), MP_ROM_PTR(&c_zero_obj) },
    { MP_ROM_QSTR(MP_QSTR_offset_of), MP_ROM_PTR(&c_offset_of_obj) },
    { MP_ROM_QSTR(MP_QSTR_address_of), MP_ROM_PTR(&c_address_of_obj) },
};
static MP_DEFINE_CONST_DICT(chunkalloc_c_globals, chunkalloc_c_globals_table);

const mp_obj_module_t chunkalloc_c_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&chunkalloc_c_globals,
};
MP_REGISTER_MODULE(MP_QSTR_chunkalloc_c, chunkalloc_c_user_cmodule);
#endif
