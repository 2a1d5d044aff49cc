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

typedef struct {
    Py_buffer b[20];
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

static PyMethodDef methods[] = {
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
    return PyModule_Create(&module);
}
