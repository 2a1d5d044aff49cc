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
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    Py_buffer b[24];
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
    if (s->n >= (int)(sizeof(s->b) / sizeof(s->b[0]))) {
        PyErr_SetString(PyExc_RuntimeError, "_pick: too many array arguments");
        return NULL;
    }
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

/* ------------------------------------------------------------------------------------------------ the PABFD loop */
typedef struct {
    const uint8_t *on;
    const double *used, *book_r, *book_c, *cap, *ld, *lr, *lc, *pnow;
    int64_t *out_h;
    double *out_t;
    Py_ssize_t n_hosts, k_d, k_r, k_c;
    double slope, w0, w1, m;
} pabfd_t;

/* The best candidate (largest total, ties to the lowest host; -1 if none) and how many pass, the passing hosts
 * and their totals written to out_h/out_t. Returns 0, 1 when a total is NaN (hand back), -1 on an error (set). */
static int pabfd_loop(const pabfd_t *P, const int64_t *cand, Py_ssize_t n_cand, const uint8_t *excl, long long src,
                      int wake, double d, double br, double bc, int64_t *best_out, Py_ssize_t *n_ok_out)
{
    Py_ssize_t n_hosts = P->n_hosts, k_d = P->k_d, k_r = P->k_r, k_c = P->k_c;
    const uint8_t *on = P->on;
    const double *used = P->used, *book_r = P->book_r, *book_c = P->book_c, *cap = P->cap;
    const double *ld = P->ld, *lr = P->lr, *lc = P->lc, *pnow = P->pnow;
    int64_t *out_h = P->out_h;
    double *out_t = P->out_t;
    double slope = P->slope, w0 = P->w0, w1 = P->w1, m = P->m;
    int src_free = src >= 0 && src < n_hosts && !excl[src];
    Py_ssize_t n_ok = 0;
    int64_t best = -1;
    double best_t = 0.0;
    int nan = 0;
    for (Py_ssize_t i = 0; i < n_cand; i++) {
        int64_t h = cand[i];
        if (h < 0 || h >= n_hosts) {
            PyErr_Format(PyExc_IndexError, "pabfd_best: candidate host %lld out of range", (long long)h);
            return -1;
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
        double now = on[h] ? (pnow ? pnow[h] : power(u / c, slope, w0, w1)) : 0.0;
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
    *best_out = best;
    *n_ok_out = n_ok;
    return nan;
}

/* ------------------------------------------------------------------------------- IQR / MAD, one host at a time
 *
 * The adaptive detectors' verdict on host h with the VM added, as Consolidation._accepts and the row-wise form
 * of _first_accepted decide it (kumo/policies/detection.py, _stats.py):
 *   empty host (n_vms[h] == 0): accepted
 *   util = (used[h] + d) / cap[h];  row[i] = hist[h][i] + vrow[i] / cap[h], i < H
 *   n = min(filled, H) less the trailing zeros (at least 1)
 *   over = n < min_history ? util > fallback : util > 1 - safety * spread(row[:n])
 *   IQR: s sorted, s[round(0.75 (n+1)) - 1] - s[round(0.25 (n+1)) - 1] (Java's round, halves up)
 *   MAD: the legacy 50th percentile of |m - x| over x, m the legacy 50th percentile of the row
 * Any value that is not finite in a row hands the call back (None): the Python path knows what NaN means.
 */
#define MAX_H 4096

static void sort_small(double *x, Py_ssize_t n)
{
    for (Py_ssize_t i = 1; i < n; i++) { /* insertion sort: stable, the order Python's sorted() gives */
        double key = x[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && x[j] > key) {
            x[j + 1] = x[j];
            j--;
        }
        x[j + 1] = key;
    }
}

static Py_ssize_t java_round_q(double x)
{
    double f = floor(x);
    return (Py_ssize_t)f + (x - f >= 0.5 ? 1 : 0);
}

static double median_legacy(const double *s, Py_ssize_t n) /* sorted, n >= 1 */
{
    if (n == 1)
        return s[0];
    double pos = 0.5 * (double)(n + 1);
    if (pos < 1)
        return s[0];
    if (pos >= (double)n)
        return s[n - 1];
    double fpos = floor(pos);
    Py_ssize_t i = (Py_ssize_t)fpos;
    double dif = pos - fpos;
    double lower = s[i - 1], upper = s[i];
    return lower + dif * (upper - lower);
}

typedef struct {
    const int64_t *nv;
    const double *used, *cap, *hist, *vrow;
    Py_ssize_t n_hosts, H;
    double d, safety, fallback;
    long long filled, min_history;
    int mode;
    double vscale; /* vrow's values are vrow[i] * vscale (1.0: as given) */
    double row[MAX_H], dev[MAX_H], vbuf[MAX_H];
} adaptive_t;

/* 1: the detector accepts the VM on host h; 0: it refuses; -1: a value is not finite (hand back) */
static int verdict(adaptive_t *A, int64_t h)
{
    if (A->nv[h] == 0)
        return 1;
    Py_ssize_t H = A->H;
    double *row = A->row;
    double c = A->cap[h];
    double util = (A->used[h] + A->d) / c;
    const double *hr = A->hist + h * H;
    int finite = util - util == 0.0;
    for (Py_ssize_t i = 0; i < H; i++) {
        row[i] = hr[i] + A->vrow[i] / c;
        finite &= row[i] - row[i] == 0.0;
    }
    if (!finite)
        return -1;
    Py_ssize_t n = A->filled < H ? (Py_ssize_t)A->filled : H;
    if (n < 0)
        n = 0;
    while (n > 0 && row[n - 1] == 0.0)
        n--;
    if (n == 0)
        n = 1;
    int over;
    if (n < A->min_history) {
        over = util > A->fallback;
    } else {
        sort_small(row, n);
        double spread;
        if (A->mode == 1) {
            spread = row[java_round_q(0.75 * (double)(n + 1)) - 1] - row[java_round_q(0.25 * (double)(n + 1)) - 1];
        } else {
            double med = median_legacy(row, n);
            for (Py_ssize_t i = 0; i < n; i++)
                A->dev[i] = fabs(med - row[i]);
            sort_small(A->dev, n);
            spread = median_legacy(A->dev, n);
        }
        over = util > 1 - A->safety * spread;
    }
    return !over;
}

/* the adaptive arguments common to both entry points; returns 0, or -1 with an error set */
static int adaptive_take(bufs_t *s, adaptive_t *A, PyObject *o_nv, PyObject *o_used, PyObject *o_cap,
                         PyObject *o_hist, PyObject *o_vrow, const char *entry)
{
    Py_ssize_t sh[2];
    if (A->mode != 1 && A->mode != 2) {
        PyErr_Format(PyExc_ValueError, "%s: mode must be 1 (IQR) or 2 (MAD), got %d", entry, A->mode);
        return -1;
    }
    A->nv = take(s, o_nv, 'q', 1, "n_vms", sh, 0);
    A->n_hosts = sh[0];
    int bad = A->nv == NULL;
    if (!bad) {
        A->used = take(s, o_used, 'd', 1, "used", sh, 0);
        bad = A->used == NULL || sh[0] != A->n_hosts;
    }
    if (!bad) {
        A->cap = take(s, o_cap, 'd', 1, "cap", sh, 0);
        bad = A->cap == NULL || sh[0] != A->n_hosts;
    }
    if (!bad) {
        A->hist = take(s, o_hist, 'd', 2, "hist", sh, 0);
        A->H = sh[1];
        bad = A->hist == NULL || sh[0] != A->n_hosts || A->H > MAX_H;
    }
    if (!bad) {
        A->vrow = take(s, o_vrow, 'd', 1, "vrow", sh, 0);
        bad = A->vrow == NULL || sh[0] != A->H;
        if (!bad && A->vscale != 1.0) { /* the VM's history x its booked MHz, as numpy multiplies them */
            for (Py_ssize_t i = 0; i < A->H; i++)
                A->vbuf[i] = A->vrow[i] * A->vscale;
            A->vrow = A->vbuf;
        }
    }
    if (bad && !PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "%s: one entry per host in n_vms, used, cap and hist's rows, one per history "
                                       "column in vrow (at most 4096)", entry);
    return bad ? -1 : 0;
}

static PyObject *adaptive_first(PyObject *self, PyObject *args)
{
    PyObject *o_order, *o_nv, *o_used, *o_cap, *o_hist, *o_vrow;
    adaptive_t A;
    A.vscale = 1.0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOdLiddL", &o_order, &o_nv, &o_used, &o_cap, &o_hist, &o_vrow, &A.d, &A.filled,
                          &A.mode, &A.safety, &A.fallback, &A.min_history))
        return NULL;
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2];
    const int64_t *order = take(&s, o_order, 'q', 1, "order", sh, 0);
    Py_ssize_t k = sh[0];
    if (order == NULL || adaptive_take(&s, &A, o_nv, o_used, o_cap, o_hist, o_vrow, "adaptive_first") < 0) {
        bufs_release(&s);
        return NULL;
    }
    int64_t found = -1;
    for (Py_ssize_t j = 0; j < k; j++) {
        int64_t h = order[j];
        if (h < 0 || h >= A.n_hosts) {
            bufs_release(&s);
            PyErr_Format(PyExc_IndexError, "adaptive_first: host %lld out of range", (long long)h);
            return NULL;
        }
        int v = verdict(&A, h);
        if (v < 0) {
            bufs_release(&s);
            Py_RETURN_NONE;
        }
        if (v) {
            found = h;
            break;
        }
    }
    bufs_release(&s);
    return PyLong_FromLongLong((long long)found);
}

/* ranked order of the hosts that pass: the larger total first, ties to the lower host (np.lexsort((h, -t))) */
typedef struct {
    double t;
    int64_t h;
} ranked_t;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->t > y->t)
        return -1;
    if (x->t < y->t)
        return 1;
    return (x->h > y->h) - (x->h < y->h);
}

/* The first host, best total first (ties to the lower host), of hosts[:n_ok] less `skip` that the detector
 * accepts, or -1; *status 1 when a verdict hands the call back, -1 on an error (set). */
static int64_t ranked_first(adaptive_t *A, const int64_t *hosts, const double *total, Py_ssize_t n_ok, int64_t skip,
                            int *status, const char *entry)
{
    *status = 0;
    ranked_t *r = PyMem_Malloc(sizeof(ranked_t) * (size_t)(n_ok > 0 ? n_ok : 1));
    if (r == NULL) {
        PyErr_NoMemory();
        *status = -1;
        return -1;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n_ok; i++) {
        int64_t h = hosts[i];
        if (h < 0 || h >= A->n_hosts) {
            PyMem_Free(r);
            PyErr_Format(PyExc_IndexError, "%s: host %lld out of range", entry, (long long)h);
            *status = -1;
            return -1;
        }
        if (h == skip)
            continue;
        r[m].t = total[i];
        r[m].h = h;
        m++;
    }
    /* the best few by selection (the detector usually accepts one of them), the rest sorted once */
    int64_t found = -1;
    int done = 0;
    Py_ssize_t j = 0;
    for (; j < m && j < 8 && !done; j++) {
        Py_ssize_t b = j;
        for (Py_ssize_t i = j + 1; i < m; i++)
            if (ranked_cmp(&r[i], &r[b]) < 0)
                b = i;
        ranked_t tmp = r[j];
        r[j] = r[b];
        r[b] = tmp;
        int v = verdict(A, r[j].h);
        if (v < 0)
            *status = done = 1;
        else if (v)
            found = r[j].h, done = 1;
    }
    if (!done && j < m) {
        qsort(r + j, (size_t)(m - j), sizeof(ranked_t), ranked_cmp);
        for (; j < m; j++) {
            int v = verdict(A, r[j].h);
            if (v < 0) {
                *status = 1;
                break;
            }
            if (v) {
                found = r[j].h;
                break;
            }
        }
    }
    PyMem_Free(r);
    return found;
}

static PyObject *adaptive_ranked(PyObject *self, PyObject *args)
{
    PyObject *o_h, *o_t, *o_nv, *o_used, *o_cap, *o_hist, *o_vrow;
    Py_ssize_t n_ok;
    long long skip;
    adaptive_t A;
    A.vscale = 1.0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOnLOOOOOdLiddL", &o_h, &o_t, &n_ok, &skip, &o_nv, &o_used, &o_cap, &o_hist,
                          &o_vrow, &A.d, &A.filled, &A.mode, &A.safety, &A.fallback, &A.min_history))
        return NULL;
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2];
    const int64_t *hosts = take(&s, o_h, 'q', 1, "hosts", sh, 0);
    int bad = hosts == NULL || n_ok < 0 || sh[0] < n_ok;
    const double *total = NULL;
    if (!bad) {
        total = take(&s, o_t, 'd', 1, "total", sh, 0);
        bad = total == NULL || sh[0] < n_ok;
    }
    if (bad || adaptive_take(&s, &A, o_nv, o_used, o_cap, o_hist, o_vrow, "adaptive_ranked") < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "adaptive_ranked: hosts and total must hold n_ok entries");
        bufs_release(&s);
        return NULL;
    }
    int status = 0;
    int64_t found = ranked_first(&A, hosts, total, n_ok, skip, &status, "adaptive_ranked");
    bufs_release(&s);
    if (status < 0)
        return NULL;
    if (status > 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)found);
}

static PyObject *pabfd_best(PyObject *self, PyObject *args)
{
    PyObject *o_cand, *o_excl, *o_on, *o_used, *o_br, *o_bc, *o_cap, *o_ld, *o_lr, *o_lc, *o_oh, *o_ot, *o_pn = Py_None;
    PyObject *o_nv = NULL, *o_hist = NULL, *o_vrow = NULL;
    adaptive_t A;
    A.vscale = 1.0;
    long long src;
    int wake;
    double d, br, bc, slope, w0, w1, m;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLpOOOOOOOOdddddddOO|OOOOLiddLd", &o_cand, &o_excl, &src, &wake, &o_on, &o_used,
                          &o_br, &o_bc, &o_cap, &o_ld, &o_lr, &o_lc, &d, &br, &bc, &slope, &w0, &w1, &m, &o_oh, &o_ot,
                          &o_pn, &o_nv, &o_hist, &o_vrow, &A.filled, &A.mode, &A.safety, &A.fallback, &A.min_history,
                          &A.vscale))
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
    const double *pnow = NULL; /* each host's power now, P(min(used / cap, 1)), kept by the caller */
    if (!bad && o_pn != Py_None) {
        pnow = take(&s, o_pn, 'd', 1, "pnow", sh, 0);
        bad = pnow == NULL || sh[0] != n_hosts;
    }
    int adaptive = o_nv != NULL;
    if (!bad && adaptive) { /* the IQR/MAD detector decides too: the chosen host (or -1) is returned */
        A.d = d;
        bad = adaptive_take(&s, &A, o_nv, o_used, o_cap, o_hist, o_vrow, "pabfd_best") < 0;
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "pabfd_best: the host arrays must have one entry per host (the out "
                                              "arrays one per candidate at least)");
        bufs_release(&s);
        return NULL;
    }
    pabfd_t P = {on, used, book_r, book_c, cap, ld, lr, lc, pnow, out_h, out_t, n_hosts, k_d, k_r, k_c,
                 slope, w0, w1, m};
    int64_t best = -1;
    Py_ssize_t n_ok = 0;
    int nan = pabfd_loop(&P, cand, n_cand, excl, src, wake, d, br, bc, &best, &n_ok);
    if (nan < 0) {
        bufs_release(&s);
        return NULL;
    }
    if (nan) {
        bufs_release(&s);
        Py_RETURN_NONE;
    }
    if (!adaptive) {
        bufs_release(&s);
        return Py_BuildValue("(Ln)", (long long)best, n_ok);
    }
    /* as Consolidation._find_host: the best host if the detector accepts it, else the others best first */
    int64_t chosen = -1;
    int status = 0;
    if (n_ok > 0) {
        int v = verdict(&A, best);
        if (v < 0)
            status = 1;
        else if (v)
            chosen = best;
        else if (n_ok > 1)
            chosen = ranked_first(&A, out_h, out_t, n_ok, best, &status, "pabfd_best");
    }
    bufs_release(&s);
    if (status < 0)
        return NULL;
    if (status > 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)chosen);
}

/* ---------------------------------------------------------------------------- a planned move's host histories
 *
 * Consolidation._move's update of the two host rows (n_hosts, H) and their valid lengths:
 *   hist[src][i] = max(hist[src][i] - row[i] / cap[src], 0.0)   (numpy's maximum: NaN stays, -0.0 gives 0.0)
 *   hist[dst][i] = hist[dst][i] + row[i] / cap[dst]
 *   hlen[h] = n = min(filled, H) if hist[h][n - 1] != 0, else 1 + the last non-zero column (1 if none)
 */
static int64_t trim_len(const double *h, Py_ssize_t H, long long filled)
{
    Py_ssize_t n = filled < H ? (Py_ssize_t)filled : H;
    if (n > 0 && h[n - 1] != 0.0)
        return n;
    for (Py_ssize_t i = H - 1; i >= 0; i--)
        if (h[i] != 0.0)
            return i + 1;
    return 1;
}

static void rows_move(double *hist, int64_t *hlen, const double *cap, const double *row, double rscale, Py_ssize_t H,
                      long long filled, long long src, long long dst, double *pnow, const double *used, double slope,
                      double w0, double w1)
{
    double *h = hist + src * H, c = cap[src];
    for (Py_ssize_t i = 0; i < H; i++) {
        double x = h[i] - (row[i] * rscale) / c; /* the row x rscale, as numpy multiplies it (x 1.0: as given) */
        h[i] = x > 0.0 ? x : (x != x ? x : 0.0);
    }
    hlen[src] = trim_len(h, H, filled);
    h = hist + dst * H;
    c = cap[dst];
    for (Py_ssize_t i = 0; i < H; i++)
        h[i] = h[i] + (row[i] * rscale) / c;
    hlen[dst] = trim_len(h, H, filled);
    if (pnow) { /* the two hosts' power now, after the move (the plan's used MHz already moved) */
        pnow[src] = power(used[src] / cap[src], slope, w0, w1);
        pnow[dst] = power(used[dst] / cap[dst], slope, w0, w1);
    }
}

static PyObject *move_rows(PyObject *self, PyObject *args)
{
    PyObject *o_hist, *o_hlen, *o_cap, *o_row, *o_pn = Py_None, *o_used = Py_None;
    long long src, dst, filled;
    double slope = 0.0, w0 = 0.0, w1 = 0.0, rscale = 1.0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOLLL|OOdddd", &o_hist, &o_hlen, &o_cap, &o_row, &src, &dst, &filled, &o_pn, &o_used,
                          &slope, &w0, &w1, &rscale))
        return NULL;
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2], n_hosts = 0, H = 0;
    double *hist = take(&s, o_hist, 'd', 2, "hist", sh, 1);
    n_hosts = sh[0];
    H = sh[1];
    int64_t *hlen = hist ? take(&s, o_hlen, 'q', 1, "hlen", sh, 1) : NULL;
    int bad = hlen == NULL || sh[0] != n_hosts;
    const double *cap = NULL, *row = NULL;
    if (!bad) {
        cap = take(&s, o_cap, 'd', 1, "cap", sh, 0);
        bad = cap == NULL || sh[0] != n_hosts;
    }
    if (!bad) {
        row = take(&s, o_row, 'd', 1, "row", sh, 0);
        bad = row == NULL || sh[0] != H;
    }
    double *pnow = NULL;
    const double *used = NULL;
    if (!bad && o_pn != Py_None) {
        pnow = take(&s, o_pn, 'd', 1, "pnow", sh, 1);
        bad = pnow == NULL || sh[0] != n_hosts;
        if (!bad) {
            used = take(&s, o_used, 'd', 1, "used", sh, 0);
            bad = used == NULL || sh[0] != n_hosts;
        }
    }
    if (!bad && (src < 0 || src >= n_hosts || dst < 0 || dst >= n_hosts)) {
        PyErr_Format(PyExc_IndexError, "move_rows: host %lld or %lld out of range", src, dst);
        bad = 1;
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "move_rows: one entry per host in hist's rows, hlen and cap, one per "
                                              "history column in row");
        bufs_release(&s);
        return NULL;
    }
    rows_move(hist, hlen, cap, row, rscale, H, filled, src, dst, pnow, used, slope, w0, w1);
    bufs_release(&s);
    Py_RETURN_NONE;
}

static PyObject *power_now(PyObject *self, PyObject *args)
{
    PyObject *o_pn, *o_used, *o_cap;
    double slope, w0, w1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOddd", &o_pn, &o_used, &o_cap, &slope, &w0, &w1))
        return NULL;
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2], n;
    double *pnow = take(&s, o_pn, 'd', 1, "pnow", sh, 1);
    n = sh[0];
    const double *used = pnow ? take(&s, o_used, 'd', 1, "used", sh, 0) : NULL;
    int bad = used == NULL || sh[0] != n;
    const double *cap = NULL;
    if (!bad) {
        cap = take(&s, o_cap, 'd', 1, "cap", sh, 0);
        bad = cap == NULL || sh[0] != n;
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "power_now: pnow, used and cap must have one entry per host");
        bufs_release(&s);
        return NULL;
    }
    for (Py_ssize_t h = 0; h < n; h++)
        pnow[h] = power(used[h] / cap[h], slope, w0, w1);
    bufs_release(&s);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ one decision's kernel
 *
 * Kernel(...) holds, for one decision of the consolidation controller, the arrays the calls above take one by
 * one (the plan's host arrays, the VMs' demands and bookings, the filters' limits, the host histories, the
 * detector's parameters): the per-move calls then pass only the VM, its source and the candidates, and do the
 * same arithmetic as pabfd_best, adaptive_first and move_rows (the same functions run), plus the plan's own
 * bookkeeping of a move (PlannedCluster.move: used, booked, n_vms, on, touched) and the saving and restoring of a
 * host's values for a rolled-back trial. The arrays are held (buffers kept) until the kernel is dropped; they are
 * changed in place, never replaced, while it lives.
 */
#define CAND_CACHE 4

typedef struct {
    PyObject_HEAD
    bufs_t s;
    pabfd_t P;
    double *used_c, *used_r, *book_c, *book_r;
    int64_t *nv;
    uint8_t *on, *touched;
    const double *vm_c, *vm_r, *vm_bc, *vm_br;
    Py_ssize_t n_vm;
    double *hist;       /* NULL: no host histories */
    int64_t *hlen;
    const double *vm_hist;
    Py_ssize_t H;
    long long filled;
    double *pnow;       /* NULL: no power now kept */
    adaptive_t *A;      /* NULL: no IQR/MAD check */
    /* the last arrays of candidates and exclusions seen (their buffers kept: the same object, the same data) */
    PyObject *c_obj[CAND_CACHE];
    Py_buffer c_buf[CAND_CACHE];
    int c_next;
    PyObject *x_obj[2];
    Py_buffer x_buf[2];
    int x_next;
} KernelObject;

static void kernel_dealloc(KernelObject *k)
{
    bufs_release(&k->s);
    for (int i = 0; i < CAND_CACHE; i++)
        if (k->c_obj[i])
            PyBuffer_Release(&k->c_buf[i]);
    for (int i = 0; i < 2; i++)
        if (k->x_obj[i])
            PyBuffer_Release(&k->x_buf[i]);
    PyMem_Free(k->A);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

/* a cached 1-d array of 'q' (int64) or '?' (bool) items: its data and length, or NULL (error set) */
static const void *cached(PyObject **objs, Py_buffer *bufs, int n_cache, int *next, PyObject *o, char kind,
                          Py_ssize_t *len)
{
    for (int i = 0; i < n_cache; i++)
        if (objs[i] == o) {
            *len = bufs[i].shape[0];
            return bufs[i].buf;
        }
    bufs_t s;
    s.n = 0;
    Py_ssize_t sh[2];
    const void *p = take(&s, o, kind, 1, kind == 'q' ? "cand" : "excluded", sh, 0);
    if (p == NULL) {
        bufs_release(&s);
        return NULL;
    }
    int i = *next;
    *next = (i + 1) % n_cache;
    if (objs[i])
        PyBuffer_Release(&bufs[i]);
    bufs[i] = s.b[0]; /* the buffer holds a reference to o: the pointer stays o's while cached */
    objs[i] = o;
    *len = sh[0];
    return p;
}

static PyTypeObject KernelType;

static PyObject *kernel_new(PyObject *self, PyObject *args)
{
    PyObject *o[24];
    double slope, w0, w1, m, safety, fallback;
    long long filled, min_history;
    int mode;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOddddOOOOOOLiddL", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &o[13], &o[14], &slope, &w0, &w1, &m, &o[15],
                          &o[16], &o[17], &o[18], &o[19], &o[20], &filled, &mode, &safety, &fallback, &min_history))
        return NULL;
    if (mode < 0 || mode > 2) {
        PyErr_Format(PyExc_ValueError, "Kernel: mode must be 0 (no check), 1 (IQR) or 2 (MAD), got %d", mode);
        return NULL;
    }
    KernelObject *k = PyObject_New(KernelObject, &KernelType);
    if (k == NULL)
        return NULL;
    k->s.n = 0;
    k->A = NULL;
    k->c_next = k->x_next = 0;
    for (int i = 0; i < CAND_CACHE; i++)
        k->c_obj[i] = NULL;
    k->x_obj[0] = k->x_obj[1] = NULL;
    bufs_t *s = &k->s;
    Py_ssize_t sh[2], n = 0;
    int bad = 0;
    /* the plan: used_c, used_r, book_c, book_r (float64), n_vms (int64), on, touched (bool), written in place */
    double **pd[4] = {&k->used_c, &k->used_r, &k->book_c, &k->book_r};
    const char *pdn[4] = {"used_c", "used_r", "book_c", "book_r"};
    for (int i = 0; i < 4 && !bad; i++) {
        *pd[i] = take(s, o[i], 'd', 1, pdn[i], sh, 1);
        bad = *pd[i] == NULL || (i && sh[0] != n);
        n = sh[0];
    }
    if (!bad) {
        k->nv = take(s, o[4], 'q', 1, "n_vms", sh, 1);
        bad = k->nv == NULL || sh[0] != n;
    }
    if (!bad) {
        k->on = take(s, o[5], '?', 1, "on", sh, 1);
        bad = k->on == NULL || sh[0] != n;
    }
    if (!bad) {
        k->touched = take(s, o[6], '?', 1, "touched", sh, 1);
        bad = k->touched == NULL || sh[0] != n;
    }
    /* the VMs: CPU and RAM demand, CPU and RAM booked */
    const double **vd[4] = {&k->vm_c, &k->vm_r, &k->vm_bc, &k->vm_br};
    const char *vdn[4] = {"vm_cpu", "vm_ram", "vm_cpu_booked", "vm_ram_booked"};
    for (int i = 0; i < 4 && !bad; i++) {
        *vd[i] = take(s, o[7 + i], 'd', 1, vdn[i], sh, 0);
        bad = *vd[i] == NULL || (i && sh[0] != k->n_vm);
        k->n_vm = sh[0];
    }
    /* the filters and the weigher */
    pabfd_t *P = &k->P;
    P->on = k->on;
    P->used = k->used_c;
    P->book_r = k->book_r;
    P->book_c = k->book_c;
    P->n_hosts = n;
    P->slope = slope;
    P->w0 = w0;
    P->w1 = w1;
    P->m = m;
    if (!bad) {
        P->cap = take(s, o[11], 'd', 1, "cap", sh, 0);
        bad = P->cap == NULL || sh[0] != n;
    }
    const double **lim[3] = {&P->ld, &P->lr, &P->lc};
    Py_ssize_t *kk[3] = {&P->k_d, &P->k_r, &P->k_c};
    const char *limn[3] = {"lim_d", "lim_r", "lim_c"};
    for (int i = 0; i < 3 && !bad; i++) {
        *lim[i] = take(s, o[12 + i], 'd', 2, limn[i], sh, 0);
        *kk[i] = sh[0];
        bad = *lim[i] == NULL || sh[1] != n;
    }
    if (!bad) {
        P->out_h = take(s, o[15], 'q', 1, "out_hosts", sh, 1);
        bad = P->out_h == NULL || sh[0] < n;
    }
    if (!bad) {
        P->out_t = take(s, o[16], 'd', 1, "out_total", sh, 1);
        bad = P->out_t == NULL || sh[0] < n;
    }
    k->pnow = NULL;
    if (!bad && o[17] != Py_None) {
        k->pnow = take(s, o[17], 'd', 1, "pnow", sh, 1);
        bad = k->pnow == NULL || sh[0] != n;
    }
    P->pnow = k->pnow;
    /* the host histories and the VMs' */
    k->hist = NULL;
    k->hlen = NULL;
    k->vm_hist = NULL;
    k->H = 0;
    k->filled = filled;
    if (!bad && o[18] != Py_None) {
        k->hist = take(s, o[18], 'd', 2, "hist", sh, 1);
        bad = k->hist == NULL || sh[0] != n || sh[1] > MAX_H;
        k->H = sh[1];
        if (!bad) {
            k->hlen = take(s, o[19], 'q', 1, "hlen", sh, 1);
            bad = k->hlen == NULL || sh[0] != n;
        }
        if (!bad) {
            k->vm_hist = take(s, o[20], 'd', 2, "vm_hist", sh, 0);
            bad = k->vm_hist == NULL || sh[0] != k->n_vm || sh[1] != k->H;
        }
    }
    if (!bad && mode) {
        if (k->hist == NULL) {
            PyErr_SetString(PyExc_ValueError, "Kernel: the IQR/MAD check needs the histories");
            bad = 1;
        } else if ((k->A = PyMem_Malloc(sizeof(adaptive_t))) == NULL) {
            PyErr_NoMemory();
            bad = 1;
        } else {
            adaptive_t *A = k->A;
            A->nv = k->nv;
            A->used = k->used_c;
            A->cap = P->cap;
            A->hist = k->hist;
            A->n_hosts = n;
            A->H = k->H;
            A->safety = safety;
            A->fallback = fallback;
            A->filled = filled;
            A->min_history = min_history;
            A->mode = mode;
            A->vscale = 1.0;
        }
    }
    if (bad) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "Kernel: one entry per host in the host arrays and the limits' rows "
                                              "(the out arrays at least), one per VM in the VM arrays, one row per "
                                              "host in hist and per VM in vm_hist, of the same width (<= 4096)");
        Py_DECREF(k);
        return NULL;
    }
    return (PyObject *)k;
}

/* the arguments of choose and best: cand (int64 array), start, excluded (bool array), vm, src, wake */
static int kernel_args(KernelObject *k, PyObject *const *args, Py_ssize_t nargs, const int64_t **cand,
                       Py_ssize_t *n_cand, const uint8_t **excl, long long *vm, long long *src, int *wake)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "Kernel: expects (cand, start, excluded, vm, src, wake)");
        return -1;
    }
    Py_ssize_t len, start = PyLong_AsSsize_t(args[1]);
    *vm = PyLong_AsLongLong(args[3]);
    *src = PyLong_AsLongLong(args[4]);
    *wake = PyObject_IsTrue(args[5]);
    if (PyErr_Occurred())
        return -1;
    *cand = cached(k->c_obj, k->c_buf, CAND_CACHE, &k->c_next, args[0], 'q', &len);
    if (*cand == NULL)
        return -1;
    *excl = cached(k->x_obj, k->x_buf, 2, &k->x_next, args[2], '?', n_cand);
    if (*excl == NULL)
        return -1;
    if (*n_cand != k->P.n_hosts) {
        PyErr_SetString(PyExc_ValueError, "Kernel: excluded must have one entry per host");
        return -1;
    }
    if (start < 0 || start > len || *vm < 0 || *vm >= k->n_vm) {
        PyErr_SetString(PyExc_IndexError, "Kernel: start or vm out of range");
        return -1;
    }
    *cand += start;
    *n_cand = len - start;
    return 0;
}

static PyObject *kernel_best(KernelObject *k, PyObject *const *args, Py_ssize_t nargs)
{
    const int64_t *cand;
    const uint8_t *excl;
    Py_ssize_t n_cand, n_ok = 0;
    long long vm, src;
    int wake;
    if (kernel_args(k, args, nargs, &cand, &n_cand, &excl, &vm, &src, &wake) < 0)
        return NULL;
    int64_t best = -1;
    int nan = pabfd_loop(&k->P, cand, n_cand, excl, src, wake, k->vm_c[vm], k->vm_br[vm], k->vm_bc[vm], &best, &n_ok);
    if (nan < 0)
        return NULL;
    if (nan)
        Py_RETURN_NONE;
    return Py_BuildValue("(Ln)", (long long)best, n_ok);
}

static PyObject *kernel_choose(KernelObject *k, PyObject *const *args, Py_ssize_t nargs)
{
    const int64_t *cand;
    const uint8_t *excl;
    Py_ssize_t n_cand, n_ok = 0;
    long long vm, src;
    int wake;
    if (k->A == NULL) {
        PyErr_SetString(PyExc_ValueError, "Kernel.choose: built without the IQR/MAD check (mode 0)");
        return NULL;
    }
    if (kernel_args(k, args, nargs, &cand, &n_cand, &excl, &vm, &src, &wake) < 0)
        return NULL;
    double d = k->vm_c[vm];
    int64_t best = -1;
    int nan = pabfd_loop(&k->P, cand, n_cand, excl, src, wake, d, k->vm_br[vm], k->vm_bc[vm], &best, &n_ok);
    if (nan < 0)
        return NULL;
    if (nan)
        Py_RETURN_NONE;
    adaptive_t *A = k->A;
    A->d = d;
    /* the VM's history x its booked MHz, as numpy multiplies them (only when the check runs) */
    int64_t chosen = -1;
    int status = 0;
    if (n_ok > 0) {
        const double *vh = k->vm_hist + vm * k->H;
        double vs = k->vm_bc[vm];
        for (Py_ssize_t i = 0; i < k->H; i++)
            A->vbuf[i] = vh[i] * vs;
        A->vrow = A->vbuf;
        int v = verdict(A, best);
        if (v < 0)
            status = 1;
        else if (v)
            chosen = best;
        else if (n_ok > 1)
            chosen = ranked_first(A, k->P.out_h, k->P.out_t, n_ok, best, &status, "Kernel.choose");
    }
    if (status < 0)
        return NULL;
    if (status > 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)chosen);
}

static int kernel_hosts(KernelObject *k, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, long long *out,
                        const char *name)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "Kernel.%s: expects %zd arguments", name, want);
        return -1;
    }
    for (Py_ssize_t i = 0; i < want; i++) {
        out[i] = PyLong_AsLongLong(args[i]);
        if (out[i] == -1 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

/* move(vm, src, dst): PlannedCluster.move's arrays, then Consolidation._move's host rows (and power now) */
static PyObject *kernel_move(KernelObject *k, PyObject *const *args, Py_ssize_t nargs)
{
    long long a[3];
    if (kernel_hosts(k, args, nargs, 3, a, "move") < 0)
        return NULL;
    long long vm = a[0], src = a[1], dst = a[2];
    Py_ssize_t n = k->P.n_hosts;
    if (vm < 0 || vm >= k->n_vm || src < 0 || src >= n || dst < 0 || dst >= n) {
        PyErr_SetString(PyExc_IndexError, "Kernel.move: vm or host out of range");
        return NULL;
    }
    double vc = k->vm_c[vm], vr = k->vm_r[vm];
    k->used_c[src] -= vc;
    k->used_r[src] -= vr;
    k->used_c[dst] += vc;
    k->used_r[dst] += vr;
    k->book_c[dst] += k->vm_bc[vm];
    k->book_r[dst] += k->vm_br[vm];
    k->nv[src] -= 1;
    k->nv[dst] += 1;
    k->on[dst] = 1;
    k->touched[src] = k->touched[dst] = 1;
    if (k->hist)
        rows_move(k->hist, k->hlen, k->P.cap, k->vm_hist + vm * k->H, k->vm_bc[vm], k->H, k->filled, src, dst,
                  k->pnow, k->used_c, k->P.slope, k->P.w0, k->P.w1);
    Py_RETURN_NONE;
}

/* save(h) -> bytes: host h's values (plan arrays, history row, its length, power now), for restore(h, saved) */
static Py_ssize_t kernel_saved_size(KernelObject *k)
{
    return (Py_ssize_t)(4 * sizeof(double) + sizeof(int64_t) + 2 + (k->hist ? (k->H * sizeof(double) + sizeof(int64_t)) : 0)
                        + (k->pnow ? sizeof(double) : 0));
}

static PyObject *kernel_save(KernelObject *k, PyObject *const *args, Py_ssize_t nargs)
{
    long long h;
    if (kernel_hosts(k, args, nargs, 1, &h, "save") < 0)
        return NULL;
    if (h < 0 || h >= k->P.n_hosts) {
        PyErr_SetString(PyExc_IndexError, "Kernel.save: host out of range");
        return NULL;
    }
    PyObject *b = PyBytes_FromStringAndSize(NULL, kernel_saved_size(k));
    if (b == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(b);
    double v[4] = {k->used_c[h], k->used_r[h], k->book_c[h], k->book_r[h]};
    memcpy(p, v, sizeof(v));
    p += sizeof(v);
    memcpy(p, &k->nv[h], sizeof(int64_t));
    p += sizeof(int64_t);
    *p++ = (char)k->on[h];
    *p++ = (char)k->touched[h];
    if (k->hist) {
        memcpy(p, k->hist + h * k->H, (size_t)k->H * sizeof(double));
        p += k->H * sizeof(double);
        memcpy(p, &k->hlen[h], sizeof(int64_t));
        p += sizeof(int64_t);
    }
    if (k->pnow)
        memcpy(p, &k->pnow[h], sizeof(double));
    return b;
}

static PyObject *kernel_restore(KernelObject *k, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "Kernel.restore: expects (host, bytes from save)");
        return NULL;
    }
    long long h = PyLong_AsLongLong(args[0]);
    if (h == -1 && PyErr_Occurred())
        return NULL;
    if (h < 0 || h >= k->P.n_hosts || PyBytes_GET_SIZE(args[1]) != kernel_saved_size(k)) {
        PyErr_SetString(PyExc_ValueError, "Kernel.restore: host out of range or not this kernel's saved values");
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(args[1]);
    double v[4];
    memcpy(v, p, sizeof(v));
    p += sizeof(v);
    k->used_c[h] = v[0];
    k->used_r[h] = v[1];
    k->book_c[h] = v[2];
    k->book_r[h] = v[3];
    memcpy(&k->nv[h], p, sizeof(int64_t));
    p += sizeof(int64_t);
    k->on[h] = (uint8_t)*p++;
    k->touched[h] = (uint8_t)*p++;
    if (k->hist) {
        memcpy(k->hist + h * k->H, p, (size_t)k->H * sizeof(double));
        p += k->H * sizeof(double);
        memcpy(&k->hlen[h], p, sizeof(int64_t));
        p += sizeof(int64_t);
    }
    if (k->pnow)
        memcpy(&k->pnow[h], p, sizeof(double));
    Py_RETURN_NONE;
}

static PyMethodDef kernel_methods[] = {
    {"best", (PyCFunction)(void (*)(void))kernel_best, METH_FASTCALL,
     "best(cand, start, excluded, vm, src, wake) -> pabfd_best over cand[start:] for this VM: (best host or -1, "
     "feasible hosts), or None (a NaN)"},
    {"choose", (PyCFunction)(void (*)(void))kernel_choose, METH_FASTCALL,
     "choose(cand, start, excluded, vm, src, wake) -> pabfd_best with the IQR/MAD check: the host or -1, or None"},
    {"move", (PyCFunction)(void (*)(void))kernel_move, METH_FASTCALL,
     "move(vm, src, dst): the plan's arrays, the two host histories and their power now after the move"},
    {"save", (PyCFunction)(void (*)(void))kernel_save, METH_FASTCALL, "save(host) -> bytes of its values"},
    {"restore", (PyCFunction)(void (*)(void))kernel_restore, METH_FASTCALL, "restore(host, saved)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kumo.policies._pick.Kernel",
    .tp_basicsize = sizeof(KernelObject),
    .tp_dealloc = (destructor)kernel_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One decision's host choice, moves and trial saves over arrays held for the decision (Kernel(...) "
              "through kernel()).",
    .tp_methods = kernel_methods,
};

static PyMethodDef methods[] = {
    {"kernel", kernel_new, METH_VARARGS,
     "kernel(used_c, used_r, book_c, book_r, n_vms, on, touched, vm_cpu, vm_ram, vm_cpu_booked, vm_ram_booked, cap, "
     "lim_d, lim_r, lim_c, slope, w0, w1, m, out_hosts, out_total, pnow, hist, hlen, vm_hist, filled, mode, safety, "
     "fallback, min_history) -> Kernel (pnow, hist, hlen, vm_hist may be None; mode 0: no IQR/MAD check)"},
    {"power_now", power_now, METH_VARARGS,
     "power_now(pnow, used, cap, slope, w0, w1): pnow[h] = P(min(used[h] / cap[h], 1)) for every host"},
    {"adaptive_ranked", adaptive_ranked, METH_VARARGS,
     "adaptive_ranked(hosts, total, n_ok, skip, n_vms, used, cap, hist, vrow, d, filled, mode, safety, fallback, "
     "min_history) -> adaptive_first over the first n_ok hosts less skip, best total first (ties to the lower "
     "host)"},
    {"move_rows", move_rows, METH_VARARGS,
     "move_rows(hist, hlen, cap, row, src, dst, filled[, pnow, used, slope, w0, w1[, rscale]]): a planned move's "
     "update of the two host histories (the row is row x rscale) and their power now"},
    {"adaptive_first", adaptive_first, METH_VARARGS,
     "adaptive_first(order, n_vms, used, cap, hist, vrow, d, filled, mode, safety, fallback, min_history) -> the "
     "first host of order whose IQR (mode 1) or MAD (mode 2) detector accepts the VM, -1, or None (hand back)"},
    {"pabfd_best", pabfd_best, METH_VARARGS,
     "pabfd_best(cand, excluded, src, wake, on, used, book_r, book_c, cap, lim_d, lim_r, lim_c, d, br, bc, slope, "
     "w0, w1, m, out_hosts, out_total[, pnow[, n_vms, hist, vrow, filled, mode, safety, fallback, min_history[, "
     "vscale]]]) -> "
     "(best host or -1, feasible hosts); with the IQR/MAD arguments, the host the detector accepts first (or -1); "
     "None: handed back (a NaN)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pick", "The consolidation controller's PABFD host choice in C (see fused.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pick(void)
{
    if (PyType_Ready(&KernelType) < 0)
        return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(mod, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
