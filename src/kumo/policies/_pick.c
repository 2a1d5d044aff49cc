/* The consolidation controller's host choice for one VM (PABFD: CPU-demand and booking filters, the
 * power-increase weigher with a linear power table), in one loop over the candidate hosts.
 *
 * The Python reference is kumo/policies/fused.py (FusedPabfd.feasible_total, then the best host of
 * Consolidation._find_host); this loop does the same IEEE operations on the same values in the same order
 * (compiled without fused multiply-add, see setup.py), so it picks the same host, bit for bit:
 *
 *   candidate h:  not excluded[h], (on[h] unless waking is allowed), h != src unless src is excluded
 *   feasible h:   used[h] + d <= lim_d[k][h] (each k), book_r[h] + br <= lim_r[k][h], book_c[h] + bc <= lim_c[k][h]
 *   total h:      m * (P(min(after / cap[h], 1)) - (on[h] ? P(min(used[h] / cap[h], 1)) : 0))
 *                 with P(x) = w1 if x >= 1 else max(x, 0) * slope + w0
 *   best:         the largest total, ties to the lowest host index
 *
 * The feasible hosts (in candidate order) and their totals are written to out_hosts and out_total (one
 * entry per host at least), for the caller's ranked order when the detector refuses the best host.
 * Returns (best host or -1, number of feasible hosts), or None when a total is NaN (the caller then runs
 * the Python path, which decides what NaN means). Arrays come through the buffer protocol, C-contiguous,
 * with their dtype checked; nothing is kept between calls.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef struct {
    Py_buffer b[14];
    int n;
} bufs_t;

static void bufs_release(bufs_t *s)
{
    for (int k = 0; k < s->n; k++)
        PyBuffer_Release(&s->b[k]);
    s->n = 0;
}

/* kind: 'd' float64, 'q' int64, '?' bool/uint8; ndim 1 or 2; returns the data pointer or NULL (error set) */
static void *take(bufs_t *s, PyObject *obj, char kind, int ndim, const char *name, Py_ssize_t *shape, int write)
{
    Py_buffer *b = &s->b[s->n];
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (write ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "pabfd_best: '%s' must be a C-contiguous%s array", name,
                     write ? " writable" : "");
        return NULL;
    }
    s->n++;
    const char *f = b->format ? b->format : "B";
    if (*f == '@' || *f == '=' || *f == '<')
        f++;
    int ok = f[0] != '\0' && f[1] == '\0' && b->ndim == ndim;
    if (ok && kind == 'd')
        ok = b->itemsize == 8 && f[0] == 'd';
    else if (ok && kind == 'q')
        ok = b->itemsize == 8 && (f[0] == 'q' || f[0] == 'l');
    else if (ok)
        ok = b->itemsize == 1 && (f[0] == '?' || f[0] == 'B');
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "pabfd_best: '%s' must be a %d-d %s array", name, ndim,
                     kind == 'd' ? "float64" : kind == 'q' ? "int64" : "bool");
        return NULL;
    }
    for (int k = 0; k < ndim; k++)
        shape[k] = b->shape[k];
    return b->buf;
}

static double power(double u, double slope, double w0, double w1)
{
    double x = u > 1.0 ? 1.0 : u; /* np.minimum(u, 1.0): NaN stays NaN */
    x = x < 0.0 ? 0.0 : x;        /* np.maximum(x, 0.0) */
    if (x >= 1.0)
        return w1;
    double p = x * slope;
    p += w0;
    return p;
}

static PyObject *pabfd_best(PyObject *self, PyObject *args)
{
    PyObject *o_cand, *o_excl, *o_on, *o_used, *o_br, *o_bc, *o_cap, *o_ld, *o_lr, *o_lc, *o_oh, *o_ot;
    long long src;
    int wake;
    double d, br, bc, slope, w0, w1, m;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLpOOOOOOOOdddddddOO", &o_cand, &o_excl, &src, &wake, &o_on, &o_used, &o_br,
                          &o_bc, &o_cap, &o_ld, &o_lr, &o_lc, &d, &br, &bc, &slope, &w0, &w1, &m, &o_oh, &o_ot))
        return NULL;
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2], n_cand, n_hosts, k_d, k_r, k_c;
    const int64_t *cand = take(&s, o_cand, 'q', 1, "cand", sh, 0);
    n_cand = sh[0];
    const uint8_t *excl = cand ? take(&s, o_excl, '?', 1, "excluded", sh, 0) : NULL;
    n_hosts = sh[0];
    const uint8_t *on = excl ? take(&s, o_on, '?', 1, "on", sh, 0) : NULL;
    int64_t *out_h = NULL;
    double *out_t = NULL;
    const double *used = NULL, *book_r = NULL, *book_c = NULL, *cap = NULL, *ld = NULL, *lr = NULL, *lc = NULL;
    int bad = on == NULL || sh[0] != n_hosts;
    if (!bad) {
        const double **dst[4] = {&used, &book_r, &book_c, &cap};
        PyObject *src_o[4] = {o_used, o_br, o_bc, o_cap};
        const char *names[4] = {"used", "book_r", "book_c", "cap"};
        for (int k = 0; k < 4 && !bad; k++) {
            *dst[k] = take(&s, src_o[k], 'd', 1, names[k], sh, 0);
            bad = *dst[k] == NULL || sh[0] != n_hosts;
        }
    }
    if (!bad) {
        ld = take(&s, o_ld, 'd', 2, "lim_d", sh, 0);
        k_d = sh[0];
        bad = ld == NULL || sh[1] != n_hosts;
    }
    if (!bad) {
        lr = take(&s, o_lr, 'd', 2, "lim_r", sh, 0);
        k_r = sh[0];
        bad = lr == NULL || sh[1] != n_hosts;
    }
    if (!bad) {
        lc = take(&s, o_lc, 'd', 2, "lim_c", sh, 0);
        k_c = sh[0];
        bad = lc == NULL || sh[1] != n_hosts;
    }
    if (!bad) {
        out_h = take(&s, o_oh, 'q', 1, "out_hosts", sh, 1);
        bad = out_h == NULL || sh[0] < n_cand;
    }
    if (!bad) {
        out_t = take(&s, o_ot, 'd', 1, "out_total", sh, 1);
        bad = out_t == NULL || sh[0] < n_cand;
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "pabfd_best: the host arrays must have one entry per host (the out "
                                              "arrays one per candidate at least)");
        bufs_release(&s);
        return NULL;
    }
    int src_free = src >= 0 && src < n_hosts && !excl[src];
    Py_ssize_t n_ok = 0;
    int64_t best = -1;
    double best_t = 0.0;
    int nan = 0;
    for (Py_ssize_t i = 0; i < n_cand; i++) {
        int64_t h = cand[i];
        if (h < 0 || h >= n_hosts) {
            bufs_release(&s);
            PyErr_Format(PyExc_IndexError, "pabfd_best: candidate host %lld out of range", (long long)h);
            return NULL;
        }
        if (excl[h] || (!wake && !on[h]) || (src_free && h == src))
            continue;
        double u = used[h];
        double after = u + d;
        int ok = 1;
        for (Py_ssize_t k = 0; k < k_d && ok; k++)
            ok = after <= ld[k * n_hosts + h];
        if (ok && k_r) {
            double x = book_r[h] + br;
            for (Py_ssize_t k = 0; k < k_r && ok; k++)
                ok = x <= lr[k * n_hosts + h];
        }
        if (ok && k_c) {
            double x = book_c[h] + bc;
            for (Py_ssize_t k = 0; k < k_c && ok; k++)
                ok = x <= lc[k * n_hosts + h];
        }
        if (!ok)
            continue;
        double c = cap[h];
        double p_after = power(after / c, slope, w0, w1);
        double now = on[h] ? power(u / c, slope, w0, w1) : 0.0;
        double t = m * (p_after - now);
        out_h[n_ok] = h;
        out_t[n_ok] = t;
        n_ok++;
        if (t != t) {
            nan = 1;
            break;
        }
        if (best < 0 || t > best_t || (t == best_t && h < best)) {
            best = h;
            best_t = t;
        }
    }
    bufs_release(&s);
    if (nan)
        Py_RETURN_NONE;
    return Py_BuildValue("(Ln)", (long long)best, n_ok);
}

static PyMethodDef methods[] = {
    {"pabfd_best", pabfd_best, METH_VARARGS,
     "pabfd_best(cand, excluded, src, wake, on, used, book_r, book_c, cap, lim_d, lim_r, lim_c, d, br, bc, slope, "
     "w0, w1, m, out_hosts, out_total) -> (best host or -1, feasible hosts) or None (a NaN total)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pick", "The consolidation controller's PABFD host choice in C (see fused.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pick(void)
{
    return PyModule_Create(&module);
}
