/* PABFD's findHostForVm on a Python HostTable (kumo/studies/cloudsim/_optimize.py HostTable.find_host and
 * kumo/studies/cloudsim/_after.py), fused into one pass over the candidate hosts, and the IQR/MAD "over-utilized now"
 * test. The Python version stays the reference and the fallback: pabfd returns -2 whenever a decision needs
 * the detector's exact scalar code (a regression prediction within 1e-9 of the threshold, or a robust LRR
 * fit that might flip a rejection), and the caller then runs the Python path.
 *
 * One call = one PABFD decision for VM v:
 *   suitable(i)  = avail[i] >= r[v] && !excluded[host[i]] && (r[v] <= pe_min || pe[i] >= r[v])
 *   tested(i)    = suitable(i) && sum_c[i] != 0         (CloudSim creates the VM tentatively on these hosts:
 *                                                        their scheduler map grows, peak[i] is updated)
 *   rejected(i)  = tested(i) && the detector says "over-utilized after allocation"
 *   result       = argmin over suitable, not rejected hosts of P(u_after) - P(now), ties to the lowest host id
 *                  (P = CloudSim's SPECpower interpolation, exact formula)
 *
 * The context is a flat array of 64-bit words (pointers and bit-cast doubles), laid out by the W_ enum below
 * and filled by kumo/studies/cloudsim/_compiled.py table_context; the arrays it points to are owned by Python.
 */
#include "_kernel.h"

enum {
    /* per-table arrays (positions 0..n-1) */
    W_AVAIL, W_PE, W_SUM_C, W_SUM_R, W_CAP, W_PNOW, W_OFF, W_NLIST, W_PEAK, W_HOST, W_HLEN, W_HIST,
    W_A, W_B, W_HZ,
    /* per-VM arrays */
    W_R, W_VM_MIPS, W_VM_LR, W_VM_HZ, W_VM_HLEN, W_VM_RES, W_VMH,
    /* constants */
    W_POWER, W_HAT, W_HIST_STRIDE, W_W, W_MODE, W_MIN_LEN, W_ROBUST,
    W_PE_MIN, W_THR, W_SAFETY, W_FALLBACK,
    W_N_WORDS
};
/* the Python side checks the count: layout() must list W_N_WORDS names */

/* the robust-fit screen for the host at position i with VM v added */
static int maybe_robust(const word_t *c, int64_t i, int64_t v, double f)
{
    int64_t w = c[W_W].i, stride = c[W_HIST_STRIDE].i;
    return robust_may_depart((const double *)c[W_HIST].u + i * stride, (const double *)c[W_HAT].u, w,
                             (const double *)c[W_VM_RES].u + v * w, (const double *)c[W_VMH].u + v * stride, f);
}

/* the IQR/MAD detector on position i, with VM v added (v < 0: as the list stands) */
static int spread_over(const word_t *c, int64_t i, int64_t v)
{
    const double *cap = (const double *)c[W_CAP].u, *sum_r = (const double *)c[W_SUM_R].u;
    const int64_t stride = c[W_HIST_STRIDE].i;
    const double *hist = (const double *)c[W_HIST].u + i * stride;
    int64_t n = ((const int64_t *)c[W_HLEN].u)[i];
    if (v < 0)
        return spread_verdict(c[W_MODE].i, hist, n, NULL, 0.0, cap[i], sum_r[i] / cap[i], c[W_MIN_LEN].i,
                              c[W_FALLBACK].d, c[W_SAFETY].d);
    int64_t nv = ((const int64_t *)c[W_VM_HLEN].u)[v];
    return spread_verdict(c[W_MODE].i, hist, nv > n ? nv : n, (const double *)c[W_VMH].u + v * stride,
                          ((const double *)c[W_VM_MIPS].u)[v], cap[i],
                          (sum_r[i] + ((const double *)c[W_R].u)[v]) / cap[i], c[W_MIN_LEN].i, c[W_FALLBACK].d,
                          c[W_SAFETY].d);
}

static double *scratch_d = NULL;
static int64_t *scratch_i = NULL;
static Py_ssize_t scratch_n = 0;

static int grow_scratch(Py_ssize_t n)
{
    if (n <= scratch_n)
        return 0;
    double *d = (double *)PyMem_Realloc(scratch_d, (size_t)n * sizeof(double));
    if (!d)
        return -1;
    scratch_d = d;
    int64_t *p = (int64_t *)PyMem_Realloc(scratch_i, (size_t)n * sizeof(int64_t));
    if (!p)
        return -1;
    scratch_i = p;
    scratch_n = n;
    return 0;
}

/* PABFD with an IQR/MAD after-test: score every suitable host, then test them best-scored first (ties to the
 * lowest host id); the first that passes wins. Returns the position, -1, or -3 (memory) */
static int64_t pabfd_spread(const word_t *c, Py_ssize_t n, Py_ssize_t v, const uint8_t *excluded)
{
    const double *avail = (const double *)c[W_AVAIL].u, *pe = (const double *)c[W_PE].u;
    const double *sum_c = (const double *)c[W_SUM_C].u, *cap = (const double *)c[W_CAP].u;
    const double *pnow = (const double *)c[W_PNOW].u, *power = (const double *)c[W_POWER].u;
    const int64_t *off = (const int64_t *)c[W_OFF].u, *nlist = (const int64_t *)c[W_NLIST].u;
    const int64_t *host = (const int64_t *)c[W_HOST].u;
    int64_t *peak = (int64_t *)c[W_PEAK].u;
    const double pe_min = c[W_PE_MIN].d;
    const double req = ((const double *)c[W_R].u)[v];
    if (grow_scratch(n) < 0)
        return -3;
    double *cd = scratch_d;
    int64_t *cp = scratch_i; /* candidate position; -(pos + 1) once tested and rejected */
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!(avail[i] >= req) || excluded[host[i]] || (req > pe_min && !(pe[i] >= req)))
            continue;
        if (sum_c[i] != 0 && nlist[i] >= peak[i])
            peak[i] = nlist[i] + 1;
        double ua = (sum_c[i] + req) / cap[i];
        if (ua > 1.0)
            ua = 1.0;
        cd[k] = spec_power(ua, power + off[i]) - pnow[i];
        cp[k] = i;
        k++;
    }
    for (Py_ssize_t round = 0; round < k; round++) {
        Py_ssize_t b = -1;
        for (Py_ssize_t j = 0; j < k; j++) {
            if (cp[j] < 0)
                continue;
            if (b < 0 || cd[j] < cd[b] || (cd[j] == cd[b] && host[cp[j]] < host[cp[b]]))
                b = j;
        }
        if (b < 0)
            return -1;
        int64_t i = cp[b];
        if (sum_c[i] == 0)
            return i; /* an empty host: nothing to test */
        int over = spread_over(c, i, v);
        if (over < 0)
            return -2;
        if (!over)
            return i;
        cp[b] = -(i + 1);
    }
    return -1;
}

/* spread_now(ctx, i) -> the IQR/MAD detector on position i as its list stands (or -2: use Python) */
PyObject *kumo_spread_now(PyObject *self, PyObject *args)
{
    Py_buffer ctx_buf;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "y*n", &ctx_buf, &i))
        return NULL;
    const word_t *c = (const word_t *)ctx_buf.buf;
    int r = -2;
    if (ctx_buf.len >= (Py_ssize_t)(W_N_WORDS * sizeof(word_t)) && (c[W_MODE].i == MODE_IQR || c[W_MODE].i == MODE_MAD))
        r = spread_over(c, i, -1);
    PyBuffer_Release(&ctx_buf);
    return PyLong_FromLong(r < 0 ? -2 : r);
}

/* pabfd(ctx, n, v, excluded) -> position, -1 (no host) or -2 (ask the exact Python path) */
PyObject *kumo_pabfd(PyObject *self, PyObject *args)
{
    Py_buffer ctx_buf, ex_buf;
    Py_ssize_t n, v;
    if (!PyArg_ParseTuple(args, "y*nny*", &ctx_buf, &n, &v, &ex_buf))
        return NULL;
    if (ctx_buf.len < (Py_ssize_t)(W_N_WORDS * sizeof(word_t))) {
        PyBuffer_Release(&ctx_buf);
        PyBuffer_Release(&ex_buf);
        PyErr_SetString(PyExc_ValueError, "pabfd: context too short");
        return NULL;
    }
    const word_t *c = (const word_t *)ctx_buf.buf;
    const uint8_t *excluded = (const uint8_t *)ex_buf.buf;
    if (c[W_MODE].i == MODE_IQR || c[W_MODE].i == MODE_MAD) {
        int64_t r = pabfd_spread(c, n, v, excluded);
        PyBuffer_Release(&ctx_buf);
        PyBuffer_Release(&ex_buf);
        if (r == -3)
            return PyErr_NoMemory();
        return PyLong_FromLongLong(r);
    }

    const double *avail = (const double *)c[W_AVAIL].u, *pe = (const double *)c[W_PE].u;
    const double *sum_c = (const double *)c[W_SUM_C].u, *sum_r = (const double *)c[W_SUM_R].u;
    const double *cap = (const double *)c[W_CAP].u, *pnow = (const double *)c[W_PNOW].u;
    const int64_t *off = (const int64_t *)c[W_OFF].u, *nlist = (const int64_t *)c[W_NLIST].u;
    int64_t *peak = (int64_t *)c[W_PEAK].u;
    const int64_t *host = (const int64_t *)c[W_HOST].u, *hlen = (const int64_t *)c[W_HLEN].u;
    const double *A = (const double *)c[W_A].u, *B = (const double *)c[W_B].u, *hz = (const double *)c[W_HZ].u;
    const double *power = (const double *)c[W_POWER].u;
    const int64_t mode = c[W_MODE].i;
    const double pe_min = c[W_PE_MIN].d;

    const double req = ((const double *)c[W_R].u)[v];
    double mv = 0, a_v = 0, b_v = 0, hz_v = 0;
    int short_vm = 0;
    if (mode == MODE_LR) {
        mv = ((const double *)c[W_VM_MIPS].u)[v];
        a_v = ((const double *)c[W_VM_LR].u)[2 * v];
        b_v = ((const double *)c[W_VM_LR].u)[2 * v + 1];
        hz_v = ((const double *)c[W_VM_HZ].u)[v];
        short_vm = ((const int64_t *)c[W_VM_HLEN].u)[v] < c[W_MIN_LEN].i;
    }
    const double safety = c[W_SAFETY].d, fallback = c[W_FALLBACK].d, thr = c[W_THR].d;
    const int64_t min_len = c[W_MIN_LEN].i;
    const int robust = (int)c[W_ROBUST].i;

    int64_t best = -1, best_host = 0;
    double best_diff = INFINITY;
    double rej_min = INFINITY; /* least power increase among rejected hosts (LRR only) */
    int ask_python = 0;

    for (Py_ssize_t i = 0; i < n; i++) {
        if (!(avail[i] >= req) || excluded[host[i]] || (req > pe_min && !(pe[i] >= req)))
            continue;
        int tested = sum_c[i] != 0;
        if (tested && nlist[i] >= peak[i])
            peak[i] = nlist[i] + 1;
        double ua = (sum_c[i] + req) / cap[i];
        if (ua > 1.0)
            ua = 1.0;
        double diff = spec_power(ua, power + off[i]) - pnow[i];
        int rejected = 0;
        if (tested) {
            if (mode == MODE_THR) {
                rejected = (sum_r[i] + req) / cap[i] > thr;
            } else if (mode == MODE_LR) {
                if (short_vm && hlen[i] < min_len) {
                    rejected = (sum_r[i] + req) / cap[i] > fallback;
                } else {
                    double h = hz[i] > hz_v ? hz[i] : hz_v;
                    double pred = ((A[i] + a_v * mv / cap[i]) + (B[i] + b_v * mv / cap[i]) * h) * safety;
                    if (fabs(pred - 1) <= KNIFE) {
                        ask_python = 1;
                        break;
                    }
                    rejected = pred >= 1;
                }
            }
        }
        if (rejected) {
            if (diff < rej_min)
                rej_min = diff; /* LRR: rejected hosts that could beat the winner are screened below */
            continue;
        }
        if (diff < best_diff || (diff == best_diff && host[i] < best_host)) {
            best = i;
            best_diff = diff;
            best_host = host[i];
        }
    }

    if (!ask_python && robust && rej_min <= best_diff + NEAR_W) {
        /* some rejected host could beat the winner if CloudSim's robust fit turned its rejection around:
         * screen each such host; if any might flip, the exact Python path decides */
        for (Py_ssize_t i = 0; i < n && !ask_python; i++) {
            if (!(avail[i] >= req) || excluded[host[i]] || (req > pe_min && !(pe[i] >= req)) || sum_c[i] == 0)
                continue;
            if (short_vm && hlen[i] < min_len)
                continue;
            double h = hz[i] > hz_v ? hz[i] : hz_v;
            double pred = ((A[i] + a_v * mv / cap[i]) + (B[i] + b_v * mv / cap[i]) * h) * safety;
            if (!(pred >= 1))
                continue;
            double ua = (sum_c[i] + req) / cap[i];
            if (ua > 1.0)
                ua = 1.0;
            double diff = spec_power(ua, power + off[i]) - pnow[i];
            if (diff <= best_diff + NEAR_W && maybe_robust(c, i, v, mv / cap[i]))
                ask_python = 1;
        }
    }
    PyBuffer_Release(&ctx_buf);
    PyBuffer_Release(&ex_buf);
    return PyLong_FromLongLong(ask_python ? -2 : best);
}


PyObject *kumo_table_words(PyObject *self, PyObject *noargs)
{
    /* the word names in order, so that Python fills the context by name */
    return Py_BuildValue("(sssssssssssssssssssssssssssssssss)",
        "avail", "pe", "sum_c", "sum_r", "cap", "pnow", "off", "nlist", "peak", "host", "hlen", "hist",
        "A", "B", "hz",
        "r", "vm_mips", "vm_lr", "vm_hz", "vm_hlen", "vm_res", "vmh",
        "power", "hat", "hist_stride", "w", "mode", "min_len", "robust",
        "pe_min", "thr", "safety", "fallback");
}

