/* Typed arguments of the kernel's entry points (see arg_t in _kernel.h).
 *
 * Every array argument is taken through the buffer protocol with PyBUF_C_CONTIGUOUS | PyBUF_FORMAT, so a
 * strided view is refused by its exporter; the format and item size must be those of the declared dtype
 * (float64 'd'; int64 'q' or 'l' of 8 bytes; uint8 'B', bool '?'), the number of dimensions and each size
 * must match. The views are held in a views_t until the entry point (or the Table object) is done.
 */
#include "_kernel.h"

static const char *kind_name(arg_kind_t k)
{
    switch (k) {
    case A_F64: return "a C-contiguous float64 array";
    case A_I64: return "a C-contiguous int64 array";
    case A_U8: return "a C-contiguous uint8/bool array";
    case A_DOUBLE: return "a float";
    default: return "an int";
    }
}

void views_init(views_t *vw)
{
    vw->n = 0;
    for (int k = 0; k < 128; k++)
        vw->size[k] = -1;
}

void views_release(views_t *vw)
{
    for (int k = 0; k < vw->n; k++)
        PyBuffer_Release(&vw->view[k]);
    vw->n = 0;
}

static int format_ok(const Py_buffer *b, arg_kind_t kind)
{
    const char *f = b->format ? b->format : "B";
    if (*f == '@' || *f == '=' || *f == '<')
        f++; /* native order; '<' is native on the little-endian machines this builds on */
    if (f[0] == '\0' || f[1] != '\0')
        return 0;
    switch (kind) {
    case A_F64: return b->itemsize == 8 && f[0] == 'd';
    case A_I64: return b->itemsize == 8 && (f[0] == 'q' || f[0] == 'l');
    case A_U8: return b->itemsize == 1 && (f[0] == 'B' || f[0] == '?');
    default: return 0;
    }
}

/* the size `sym` stands for must be `got`; binds it if still unknown */
static int size_ok(views_t *vw, char sym, Py_ssize_t got, const char *entry, const char *name, int axis)
{
    if (sym >= '1' && sym <= '9') {
        if (got == sym - '0')
            return 0;
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' must have %c along axis %d, got %zd", entry, name, sym,
                     axis, got);
        return -1;
    }
    Py_ssize_t *s = &vw->size[(unsigned char)sym & 127];
    if (*s < 0) {
        *s = got;
        return 0;
    }
    if (*s == got)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s: argument '%s' has %zd along axis %d where size %c is %zd", entry, name, got,
                 axis, sym, *s);
    return -1;
}

int check_count(PyObject *args, Py_ssize_t count, const char *entry)
{
    if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) != count) {
        PyErr_Format(PyExc_TypeError, "%s: expected a tuple of %zd arguments", entry, count);
        return -1;
    }
    return 0;
}

int args_fill(PyObject *args, Py_ssize_t first, const char *entry, const arg_t *spec, Py_ssize_t count,
              void *out, views_t *vw)
{
    if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < first + count) {
        PyErr_Format(PyExc_TypeError, "%s: expected %zd arguments", entry, first + count);
        return -1;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        const arg_t *a = &spec[k];
        PyObject *obj = PyTuple_GET_ITEM(args, first + k);
        char *slot = (char *)out + a->offset;
        if (a->kind == A_DOUBLE || a->kind == A_INT) {
            if (a->kind == A_DOUBLE) {
                double x = PyFloat_AsDouble(obj);
                if (x == -1.0 && PyErr_Occurred())
                    goto wrong;
                *(double *)slot = x;
            } else {
                long long x = PyLong_AsLongLong(obj);
                if (x == -1 && PyErr_Occurred())
                    goto wrong;
                *(int64_t *)slot = (int64_t)x;
            }
            continue;
        }
        if (obj == Py_None && (a->flags & A_OPTIONAL)) {
            *(void **)slot = NULL;
            continue;
        }
        if (vw->n >= MAX_VIEWS) {
            PyErr_Format(PyExc_RuntimeError, "%s: too many array arguments", entry);
            return -1;
        }
        Py_buffer *b = &vw->view[vw->n];
        int want = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | ((a->flags & A_WRITE) ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(obj, b, want) < 0)
            goto wrong;
        vw->n++;
        int ndim = a->cols ? 2 : 1;
        if (!format_ok(b, a->kind) || b->ndim != ndim) {
            PyErr_Format(PyExc_TypeError, "%s: argument %zd ('%s') must be %s of %d dimension(s), got format "
                         "'%s' (item size %zd) with %d dimension(s)", entry, first + k + 1, a->name,
                         kind_name(a->kind), ndim, b->format ? b->format : "B", b->itemsize, b->ndim);
            return -1;
        }
        if (size_ok(vw, a->rows, b->shape[0], entry, a->name, 0) < 0)
            return -1;
        if (ndim == 2 && size_ok(vw, a->cols, b->shape[1], entry, a->name, 1) < 0)
            return -1;
        *(void **)slot = b->buf;
        continue;
    wrong: {
        /* keep the reason the exporter gave (e.g. "ndarray is not C-contiguous") */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *why = value ? PyObject_Str(value) : NULL;
        const char *reason = why ? PyUnicode_AsUTF8(why) : NULL;
        if (!reason)
            PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: argument %zd ('%s') must be %s%s%s, got %.80s (%.200s)", entry,
                     first + k + 1, a->name, kind_name(a->kind), (a->flags & A_WRITE) ? " (writable)" : "",
                     (a->flags & A_OPTIONAL) ? " or None" : "", Py_TYPE(obj)->tp_name, reason ? reason : "");
        Py_XDECREF(why);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return -1;
    }
    }
    return 0;
}

int check_range(const int64_t *x, Py_ssize_t n, int64_t lo, int64_t hi, const char *entry, const char *name)
{
    for (Py_ssize_t k = 0; k < n; k++)
        if (x[k] < lo || x[k] > hi) {
            PyErr_Format(PyExc_ValueError, "%s: %s[%zd] = %lld is outside [%lld, %lld]", entry, name, k,
                         (long long)x[k], (long long)lo, (long long)hi);
            return -1;
        }
    return 0;
}
