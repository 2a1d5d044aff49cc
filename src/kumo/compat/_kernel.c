/* PABFD's findHostForVm for kumo's CloudSim compatibility mode, fused into one pass over the candidate hosts.
 *
 * The Python version (kumo/compat/_optimize.py HostTable.find_host + kumo/compat/_after.py) stays the reference
 * and the fallback: this kernel returns -2 whenever a decision needs the detector's exact scalar code (a
 * regression prediction within 1e-9 of the threshold, or a robust LRR fit that might flip a rejection), and
 * the caller then runs the Python path. Every other decision is the same IEEE arithmetic in the same order as
 * the Python code (compile without FMA contraction), so the kernel changes speed, never a result.
 *
 * One call = one PABFD decision for VM v:
 *   suitable(i)  = avail[i] >= r[v] && !excluded[host[i]] && (r[v] <= pe_min || pe[i] >= r[v])
 *   tested(i)    = suitable(i) && sum_c[i] != 0         (CloudSim creates the VM tentatively on these hosts:
 *                                                        their scheduler map grows, peak[i] is updated)
 *   rejected(i)  = tested(i) && the detector says "over-utilized after allocation"
 *   result       = argmin over suitable, not rejected hosts of P(u_after) - P(now), ties to the lowest host id
 *                  (P = CloudSim's SPECpower interpolation, exact formula)
 *
 * The context is a flat array of 64-bit words (pointers and bit-cast doubles), laid out by the WORDS enum
 * below and filled by kumo/compat/_kernel.py; the arrays it points to are owned and kept alive by Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

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

enum { MODE_NONE = 0, MODE_THR = 1, MODE_LR = 2, MODE_IQR = 3, MODE_MAD = 4 };

#define KNIFE 1e-9
#define NEAR_W 1e-9

typedef union { uint64_t u; double d; int64_t i; } word_t;

/* CloudSim's PowerModelSpecPower.getPower(u) on the 11-point table `tab` (PowerModelSpecPowerHp...). */
static inline double spec_power(double u, const double *tab)
{
    double u10 = u * 10;
    double f = floor(u10);
    /* fmod(u, 0.1) == 0 implies u * 10 is a whole number (u = k * 0.1 for k <= 10); test that first */
    if (u10 == f && fmod(u, 0.1) == 0)
        return tab[(int64_t)u10];
    double p1 = tab[(int64_t)f];
    double p2 = tab[(int64_t)ceil(u10)];
    return p1 + (p2 - p1) / 10 * (u - f / 10) * 100;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kumo/compat/_after.py RegressionAfter._maybe_robust for one host: can CloudSim's robust fit depart from OLS
 * on the host's window plus the VM's share? (>= 6 of the 10 residuals exactly zero; a screen with 1e-9 room) */
static int maybe_robust(const word_t *c, int64_t i, int64_t v, double f)
{
    int64_t w = c[W_W].i;
    const double *hw = (const double *)c[W_HIST].u + i * c[W_HIST_STRIDE].i;
    const double *hat = (const double *)c[W_HAT].u;
    const double *res_v = (const double *)c[W_VM_RES].u + v * w;
    const double *vmh = (const double *)c[W_VMH].u + v * c[W_HIST_STRIDE].i;
    double res[64];
    double scale = 0.0;
    if (w > 64)
        return 1;
    for (int64_t j = 0; j < w; j++) {
        double fit = 0.0;
        for (int64_t k = 0; k < w; k++)
            fit += hw[k] * hat[k * w + j];
        res[j] = fabs(hw[j] - fit + res_v[j] * f);
        double s = hw[j] + vmh[j] * f;
        if (j == 0 || s > scale)
            scale = s;
    }
    if (scale < 1e-300)
        scale = 1e-300;
    qsort(res, (size_t)w, sizeof(double), cmp_double);
    return res[(w - 1) / 2 + 1] <= 1e-9 * scale;
}

/* ------------------------------------------------------------------------------------------ IQR / MAD */

static void sort_small(double *x, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        double key = x[i];
        int64_t j = i - 1;
        while (j >= 0 && x[j] > key) {
            x[j + 1] = x[j];
            j--;
        }
        x[j + 1] = key;
    }
}

/* Java Math.round for the non-negative multiples of 0.25 used here (exact: x - floor(x) is exact) */
static inline int64_t java_round(double x)
{
    double f = floor(x);
    return (int64_t)f + (x - f >= 0.5 ? 1 : 0);
}

/* commons-math Percentile(50), legacy estimator, on n >= 1 sorted values */
static inline double pct50_sorted(const double *s, int64_t n)
{
    if (n == 1)
        return s[0];
    double pos = 0.5 * (n + 1);
    if (pos < 1)
        return s[0];
    if (pos >= n)
        return s[n - 1];
    double fpos = floor(pos);
    int64_t i = (int64_t)fpos;
    double dif = pos - fpos;
    double lower = s[i - 1];
    return lower + dif * (s[i] - lower);
}

/* CloudSim MathUtil.iqr / MathUtil.mad of x[0..n) (x is sorted in place; n >= 2 for IQR) */
static double spread(int64_t mode, double *x, int64_t n)
{
    sort_small(x, n);
    if (mode == MODE_IQR) {
        int64_t q1 = java_round(0.25 * (n + 1)) - 1;
        int64_t q3 = java_round(0.75 * (n + 1)) - 1;
        return x[q3] - x[q1];
    }
    double med = pct50_sorted(x, n);
    for (int64_t k = 0; k < n; k++)
        x[k] = fabs(med - x[k]);
    sort_small(x, n);
    return pct50_sorted(x, n);
}

/* the IQR/MAD detector on the host at position i, with VM v added (v < 0: as the list stands) */
static int spread_over(const word_t *c, int64_t i, int64_t v)
{
    const double *cap = (const double *)c[W_CAP].u, *sum_r = (const double *)c[W_SUM_R].u;
    const int64_t stride = c[W_HIST_STRIDE].i;
    const double *hist = (const double *)c[W_HIST].u + i * stride;
    int64_t n = ((const int64_t *)c[W_HLEN].u)[i];
    double x[256];
    double util;
    if (stride > 256)
        return -1;
    if (v >= 0) {
        const double req = ((const double *)c[W_R].u)[v];
        const double mv = ((const double *)c[W_VM_MIPS].u)[v];
        const double *vmh = (const double *)c[W_VMH].u + v * stride;
        int64_t nv = ((const int64_t *)c[W_VM_HLEN].u)[v];
        if (nv > n)
            n = nv;
        util = (sum_r[i] + req) / cap[i];
        if (n < c[W_MIN_LEN].i)
            return util > c[W_FALLBACK].d;
        for (int64_t k = 0; k < n; k++)
            x[k] = hist[k] + vmh[k] * mv / cap[i];
    } else {
        util = sum_r[i] / cap[i];
        if (n < c[W_MIN_LEN].i)
            return util > c[W_FALLBACK].d;
        for (int64_t k = 0; k < n; k++)
            x[k] = hist[k];
    }
    return util > 1 - c[W_SAFETY].d * spread(c[W_MODE].i, x, n);
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
static PyObject *spread_now(PyObject *self, PyObject *args)
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
static PyObject *pabfd(PyObject *self, PyObject *args)
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


/* ============================================================================================================
 * optimize_mmt: one whole optimizeAllocation with MMT selection (kumo/compat/_optimize.py optimize() with
 * CloudSimRun.select_from), for the THR/LR/LRR/IQR/MAD detectors. Positions are host ids: every host is
 * scanned in id order, except empty pristine hosts, of which only the lowest id per type is scanned (they all
 * score alike and ties go to the lowest id; the Python HostTable's "universe" does the same).
 * Any close call the exact Python code must decide aborts the whole call (-2) before anything outside it has
 * changed: the caller then runs the Python optimize.
 * ========================================================================================================== */

enum {
    O_NH, O_NV, O_NSLOT, O_S_VM, O_S_HOST, O_ALLOC, O_C_SLOT, O_OVER_OUT, O_U, O_PEAK, O_TYPE, O_NTYPES,
    O_CAP, O_PE, O_OFF, O_POWER, O_R, O_VM_RAM, O_VM_MIPS, O_VMH, O_VM_HLEN, O_VM_LR, O_VM_HZ, O_VM_RES,
    O_STRIDE, O_MODE, O_MIN_LEN, O_W, O_ROBUST, O_ALPHA, O_BETA, O_HAT, O_OUT,
    O_PE_MIN, O_THR, O_SAFETY, O_FALLBACK, O_MIG_RATE, O_INTERVAL,
    O_N_WORDS
};

#define INT_MIN_D (-2147483648.0)

typedef struct {
    int64_t *v;
    int64_t n, cap;
} list_t;

typedef struct {
    /* inputs */
    int64_t nh, stride, mode, min_len, w, robust;
    const double *cap, *pe, *power, *r, *vm_ram, *vm_mips, *vmh, *vm_lr, *vm_hz, *vm_res, *alpha, *beta, *hat;
    const int64_t *off, *type, *vm_hlen;
    double pe_min, thr, safety, fallback, mig_rate, interval;
    /* per-host working state */
    double *avail, *sum_c, *sum_r, *max_ram, *hist, *A, *B, *hz, *pnow;
    int64_t *nlist, *peak, *hlen, *rep;
    uint8_t *pristine;
    list_t *lists;
} opt_t;

static int list_push(list_t *l, int64_t v)
{
    if (l->n == l->cap) {
        int64_t nc = l->cap ? 2 * l->cap : 8;
        int64_t *nv = (int64_t *)PyMem_Realloc(l->v, (size_t)nc * sizeof(int64_t));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
    return 0;
}

static inline double horizon_of(const opt_t *o, double max_ram)
{
    return 10.0 + ceil(max_ram / o->mig_rate / o->interval);
}

static void set_ab(opt_t *o, int64_t h)
{
    const double *hw = o->hist + h * o->stride;
    double a = 0.0, b = 0.0;
    for (int64_t k = 0; k < o->w; k++) {
        a += hw[k] * o->alpha[k];
        b += hw[k] * o->beta[k];
    }
    o->A[h] = a;
    o->B[h] = b;
    o->hz[h] = horizon_of(o, o->max_ram[h]);
}

static inline int64_t trim_len(const double *row, int64_t stride)
{
    for (int64_t k = stride - 1; k >= 0; k--)
        if (row[k] != 0.0)
            return k + 1;
    return 1;
}

/* robust-fit screen on a window (hw + f * VM's share; f = 0: the host alone) */
static int maybe_robust_o(const opt_t *o, const double *hw, int64_t v, double f)
{
    int64_t w = o->w;
    double res[64];
    double scale = 0.0;
    if (w > 64)
        return 1;
    for (int64_t j = 0; j < w; j++) {
        double fit = 0.0;
        for (int64_t k = 0; k < w; k++)
            fit += hw[k] * o->hat[k * w + j];
        double x = hw[j] - fit;
        double s = hw[j];
        if (v >= 0) {
            x = x + o->vm_res[v * w + j] * f;
            s = hw[j] + o->vmh[v * o->stride + j] * f;
        }
        res[j] = fabs(x);
        if (j == 0 || s > scale)
            scale = s;
    }
    if (scale < 1e-300)
        scale = 1e-300;
    qsort(res, (size_t)w, sizeof(double), cmp_double);
    return res[(w - 1) / 2 + 1] <= 1e-9 * scale;
}

/* IQR/MAD verdict on host h (+ VM v when v >= 0) */
static int spread_o(const opt_t *o, int64_t h, int64_t v)
{
    const double *hist = o->hist + h * o->stride;
    int64_t n = o->hlen[h];
    double x[256];
    double util;
    if (o->stride > 256)
        return -1;
    if (v >= 0) {
        double mv = o->vm_mips[v];
        const double *vmh = o->vmh + v * o->stride;
        if (o->vm_hlen[v] > n)
            n = o->vm_hlen[v];
        util = (o->sum_r[h] + o->r[v]) / o->cap[h];
        if (n < o->min_len)
            return util > o->fallback;
        for (int64_t k = 0; k < n; k++)
            x[k] = hist[k] + vmh[k] * mv / o->cap[h];
    } else {
        util = o->sum_r[h] / o->cap[h];
        if (n < o->min_len)
            return util > o->fallback;
        for (int64_t k = 0; k < n; k++)
            x[k] = hist[k];
    }
    return util > 1 - o->safety * spread(o->mode, x, n);
}

/* the detector on host h as its list stands: 1/0, or -2 (a close call for the exact code) */
static int over_now(const opt_t *o, int64_t h)
{
    if (o->mode == MODE_THR)
        return o->sum_r[h] / o->cap[h] > o->thr;
    if (o->mode == MODE_IQR || o->mode == MODE_MAD) {
        int r = spread_o(o, h, -1);
        return r < 0 ? -2 : r;
    }
    if (o->hlen[h] < o->min_len)
        return o->sum_r[h] / o->cap[h] > o->fallback;
    double pred = (o->A[h] + o->B[h] * o->hz[h]) * o->safety;
    if (fabs(pred - 1) <= KNIFE)
        return -2;
    if (pred >= 1 && o->robust && maybe_robust_o(o, o->hist + h * o->stride, -1, 0.0))
        return -2;
    return pred >= 1;
}

/* the LR/LRR after-test prediction for host h with VM v (the Python screen's formula) */
static inline double lr_pred(const opt_t *o, int64_t h, int64_t v)
{
    double mv = o->vm_mips[v];
    double hv = o->vm_hz[v];
    double hh = o->hz[h] > hv ? o->hz[h] : hv;
    return ((o->A[h] + o->vm_lr[2 * v] * mv / o->cap[h]) + (o->B[h] + o->vm_lr[2 * v + 1] * mv / o->cap[h]) * hh) *
           o->safety;
}

static inline int scanned(const opt_t *o, int64_t h)
{
    return !o->pristine[h] || o->rep[o->type[h]] == h;
}

/* PABFD findHostForVm: host id, -1 (none) or -2 (close call) */
static int64_t find_o(opt_t *o, int64_t v, const uint8_t *excluded, double *cd, int64_t *cp)
{
    const double req = o->r[v];
    const int short_vm = o->vm_hlen[v] < o->min_len;
    const int spread_mode = o->mode == MODE_IQR || o->mode == MODE_MAD;
    int64_t best = -1, k = 0;
    double best_diff = INFINITY, rej_min = INFINITY;
    for (int64_t h = 0; h < o->nh; h++) {
        if (!scanned(o, h) || !(o->avail[h] >= req) || excluded[h] || (req > o->pe_min && !(o->pe[h] >= req)))
            continue;
        int tested = o->sum_c[h] != 0;
        if (tested && o->nlist[h] >= o->peak[h])
            o->peak[h] = o->nlist[h] + 1;
        if (spread_mode) {
            double ua = (o->sum_c[h] + req) / o->cap[h];
            cd[k] = spec_power(ua > 1.0 ? 1.0 : ua, o->power + o->off[h]) - o->pnow[h];
            cp[k] = h;
            k++;
            continue;
        }
        int rejected = 0;
        if (tested) {
            if (o->mode == MODE_THR) {
                rejected = (o->sum_r[h] + req) / o->cap[h] > o->thr;
            } else if (short_vm && o->hlen[h] < o->min_len) {
                rejected = (o->sum_r[h] + req) / o->cap[h] > o->fallback;
            } else {
                double pred = lr_pred(o, h, v);
                if (fabs(pred - 1) <= KNIFE)
                    return -2;
                rejected = pred >= 1;
            }
        }
        if (rejected && !o->robust)
            continue;
        double ua = (o->sum_c[h] + req) / o->cap[h];
        if (ua > 1.0)
            ua = 1.0;
        double diff = spec_power(ua, o->power + o->off[h]) - o->pnow[h];
        if (rejected) {
            if (diff < rej_min)
                rej_min = diff;
            continue;
        }
        if (diff < best_diff) { /* host ids ascend: strict < keeps the lowest id on ties */
            best = h;
            best_diff = diff;
        }
    }
    if (spread_mode) {
        /* test the candidates best-scored first (ties: lowest id); the first that passes wins */
        for (int64_t round = 0; round < k; round++) {
            int64_t b = -1;
            for (int64_t j = 0; j < k; j++) {
                if (cp[j] < 0)
                    continue;
                if (b < 0 || cd[j] < cd[b] || (cd[j] == cd[b] && cp[j] < cp[b]))
                    b = j;
            }
            if (b < 0)
                return -1;
            int64_t h = cp[b];
            if (o->sum_c[h] == 0)
                return h;
            int ov = spread_o(o, h, v);
            if (ov < 0)
                return -2;
            if (!ov)
                return h;
            cp[b] = -(h + 1);
        }
        return -1;
    }
    if (o->robust && rej_min <= best_diff + NEAR_W) {
        for (int64_t h = 0; h < o->nh; h++) {
            if (!scanned(o, h) || !(o->avail[h] >= req) || excluded[h] || (req > o->pe_min && !(o->pe[h] >= req)) ||
                o->sum_c[h] == 0 || (short_vm && o->hlen[h] < o->min_len))
                continue;
            if (!(lr_pred(o, h, v) >= 1))
                continue;
            double ua = (o->sum_c[h] + req) / o->cap[h];
            if (ua > 1.0)
                ua = 1.0;
            double diff = spec_power(ua, o->power + o->off[h]) - o->pnow[h];
            if (diff <= best_diff + NEAR_W && maybe_robust_o(o, o->hist + h * o->stride, v, o->vm_mips[v] / o->cap[h]))
                return -2;
        }
    }
    return best;
}

/* host.vmCreate(vm) for a VM that fits */
static int create_o(opt_t *o, int64_t h, int64_t v)
{
    if (o->pristine[h]) {
        /* the type's representative empty host received a VM: the next pristine host of its type stands in */
        int64_t t = o->type[h];
        o->pristine[h] = 0;
        o->rep[t] = -1;
        for (int64_t g = h + 1; g < o->nh; g++)
            if (o->pristine[g] && o->type[g] == t) {
                o->rep[t] = g;
                break;
            }
    }
    if (list_push(&o->lists[h], v) < 0)
        return -1;
    double req = o->r[v];
    o->nlist[h] += 1;
    if (o->nlist[h] > o->peak[h])
        o->peak[h] = o->nlist[h];
    o->sum_c[h] += req;
    o->avail[h] -= req;
    o->sum_r[h] += req;
    if (o->vm_ram[v] > o->max_ram[h])
        o->max_ram[h] = o->vm_ram[v];
    double *row = o->hist + h * o->stride;
    const double *vr = o->vmh + v * o->stride;
    double mv = o->vm_mips[v];
    for (int64_t k = 0; k < o->stride; k++)
        row[k] = row[k] + vr[k] * mv / o->cap[h];
    if (o->vm_hlen[v] > o->hlen[h])
        o->hlen[h] = o->vm_hlen[v];
    if (o->mode == MODE_LR) {
        double f = mv / o->cap[h];
        o->A[h] += o->vm_lr[2 * v] * f;
        o->B[h] += o->vm_lr[2 * v + 1] * f;
        o->hz[h] = horizon_of(o, o->max_ram[h]);
    }
    return 0;
}

/* the scheduler's sums after host.vmDestroy: HostTable.rebuild */
static void rebuild_o(opt_t *o, int64_t h, double *cbuf)
{
    list_t *l = &o->lists[h];
    double cap = o->cap[h], pe = o->pe[h];
    double s_r = 0.0, avail = cap;
    int over = 0;
    for (int64_t j = 0; j < l->n; j++) {
        double x = o->r[l->v[j]];
        double cv = x > pe ? pe : x;
        cbuf[j] = cv;
        s_r += x;
        if (!over && avail >= cv)
            avail -= cv;
        else
            over = 1;
    }
    if (over) {
        double tot = 0.0;
        for (int64_t j = 0; j < l->n; j++)
            tot += cbuf[j];
        double scale = cap / tot;
        for (int64_t j = 0; j < l->n; j++)
            cbuf[j] = floor(cbuf[j] * scale);
        avail = 0.0;
    }
    double s_c = 0.0;
    for (int64_t j = 0; j < l->n; j++)
        s_c += cbuf[j];
    o->sum_r[h] = s_r;
    o->sum_c[h] = s_c;
    o->avail[h] = avail;
    double *row = o->hist + h * o->stride;
    if (l->n) {
        double mr = -INFINITY;
        for (int64_t k = 0; k < o->stride; k++) {
            double acc = 0.0;
            for (int64_t j = 0; j < l->n; j++) {
                int64_t v = l->v[j];
                double term = o->vmh[v * o->stride + k] * o->vm_mips[v] / cap;
                acc = j ? acc + term : term;
            }
            row[k] = acc;
        }
        for (int64_t j = 0; j < l->n; j++)
            if (o->vm_ram[l->v[j]] > mr)
                mr = o->vm_ram[l->v[j]];
        o->max_ram[h] = mr;
    } else {
        for (int64_t k = 0; k < o->stride; k++)
            row[k] = 0.0;
        o->max_ram[h] = INT_MIN_D;
    }
    o->hlen[h] = trim_len(row, o->stride);
    if (o->mode == MODE_LR)
        set_ab(o, h);
}

typedef struct {
    int64_t h, n, nlist, hlen;
    double sum_c, avail, sum_r, max_ram, A, B, hz;
    double *hist;
    int64_t *vms;
} snap_t;

static void free_opt(opt_t *o)
{
    if (o->lists)
        for (int64_t h = 0; h < o->nh; h++)
            PyMem_Free(o->lists[h].v);
    PyMem_Free(o->lists);
    PyMem_Free(o->avail);
    PyMem_Free(o->nlist);
    PyMem_Free(o->pristine);
}

/* stable sort of VM ids by decreasing r (Python's sort(key=-r)): insertion sort, the lists are short */
static void sort_by_r_desc(int64_t *v, int64_t n, const double *r)
{
    for (int64_t i = 1; i < n; i++) {
        int64_t key = v[i];
        int64_t j = i - 1;
        while (j >= 0 && r[v[j]] < r[key]) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = key;
    }
}

static const double *sort_u = NULL; /* the key of cmp_by_u_then_id (the GIL is held throughout) */

static int cmp_by_u_then_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_u[x] < sort_u[y])
        return -1;
    if (sort_u[x] > sort_u[y])
        return 1;
    return (x > y) - (x < y);
}

/* optimize_mmt(ctx) -> number of migrations written to the out buffer as (vm, host) pairs, or -2 */
static PyObject *optimize_mmt(PyObject *self, PyObject *args)
{
    Py_buffer cb;
    if (!PyArg_ParseTuple(args, "y*", &cb))
        return NULL;
    if (cb.len < (Py_ssize_t)(O_N_WORDS * sizeof(word_t))) {
        PyBuffer_Release(&cb);
        PyErr_SetString(PyExc_ValueError, "optimize_mmt: context too short");
        return NULL;
    }
    const word_t *c = (const word_t *)cb.buf;
    opt_t o;
    memset(&o, 0, sizeof(o));
    const int64_t nh = c[O_NH].i, nv = c[O_NV].i, nslot = c[O_NSLOT].i, S = c[O_STRIDE].i;
    o.nh = nh;
    o.stride = S;
    o.mode = c[O_MODE].i;
    o.min_len = c[O_MIN_LEN].i;
    o.w = c[O_W].i;
    o.robust = c[O_ROBUST].i;
    o.cap = (const double *)c[O_CAP].u;
    o.pe = (const double *)c[O_PE].u;
    o.power = (const double *)c[O_POWER].u;
    o.r = (const double *)c[O_R].u;
    o.vm_ram = (const double *)c[O_VM_RAM].u;
    o.vm_mips = (const double *)c[O_VM_MIPS].u;
    o.vmh = (const double *)c[O_VMH].u;
    o.vm_lr = (const double *)c[O_VM_LR].u;
    o.vm_hz = (const double *)c[O_VM_HZ].u;
    o.vm_res = (const double *)c[O_VM_RES].u;
    o.alpha = (const double *)c[O_ALPHA].u;
    o.beta = (const double *)c[O_BETA].u;
    o.hat = (const double *)c[O_HAT].u;
    o.off = (const int64_t *)c[O_OFF].u;
    o.type = (const int64_t *)c[O_TYPE].u;
    o.vm_hlen = (const int64_t *)c[O_VM_HLEN].u;
    o.pe_min = c[O_PE_MIN].d;
    o.thr = c[O_THR].d;
    o.safety = c[O_SAFETY].d;
    o.fallback = c[O_FALLBACK].d;
    o.mig_rate = c[O_MIG_RATE].d;
    o.interval = c[O_INTERVAL].d;
    const int64_t *s_vm = (const int64_t *)c[O_S_VM].u, *s_host = (const int64_t *)c[O_S_HOST].u;
    const double *alloc = (const double *)c[O_ALLOC].u, *c_slot = (const double *)c[O_C_SLOT].u;
    uint8_t *overloaded = (uint8_t *)c[O_OVER_OUT].u;
    const double *u = (const double *)c[O_U].u;
    int64_t *peak_out = (int64_t *)c[O_PEAK].u;
    int64_t *out = (int64_t *)c[O_OUT].u;
    const int64_t ntypes = c[O_NTYPES].i;
    const int64_t max_mig = 2 * nv; /* the out buffer holds 2 nv (vm, host) pairs */

    long long result = -2;
    int nomem = 0;
    /* one block of doubles: avail sum_c sum_r max_ram A B hz pnow (8 nh) + hist (nh S) + scratch (3 nv + 2 nh) */
    size_t nd = (size_t)(8 * nh + nh * S + 3 * nv + 2 * nh);
    o.avail = (double *)PyMem_Calloc(nd, sizeof(double));
    o.nlist = (int64_t *)PyMem_Calloc((size_t)(4 * nh + ntypes + 4 * nv + 2 * nh + 8), sizeof(int64_t));
    o.pristine = (uint8_t *)PyMem_Calloc((size_t)(3 * nh + 8), 1);
    o.lists = (list_t *)PyMem_Calloc((size_t)nh, sizeof(list_t));
    snap_t *snaps = NULL;
    double *snap_hist = NULL;
    if (!o.avail || !o.nlist || !o.pristine || !o.lists) {
        nomem = 1;
        goto done;
    }
    o.sum_c = o.avail + nh;
    o.sum_r = o.sum_c + nh;
    o.max_ram = o.sum_r + nh;
    o.A = o.max_ram + nh;
    o.B = o.A + nh;
    o.hz = o.B + nh;
    o.pnow = o.hz + nh;
    o.hist = o.pnow + nh;
    double *cbuf = o.hist + nh * S;       /* nv: rebuild's per-VM allocations */
    double *cd = cbuf + nv;               /* nh: spread candidates' scores */
    o.peak = o.nlist + nh;
    o.hlen = o.peak + nh;
    o.rep = o.hlen + nh;                  /* ntypes */
    int64_t *cp = o.rep + ntypes;         /* nh: spread candidates */
    int64_t *to_move = cp + nh;           /* nv */
    int64_t *vms = to_move + nv;          /* nv */
    int64_t *placed = vms + nv;           /* 2 nv: (vm, host) pairs */
    int64_t *order = placed + 2 * nv;     /* nh */
    int64_t *snap_of = order + nh;        /* nh: index into snaps, or -1 */
    uint8_t *excl_src = o.pristine + nh, *excl_tgt = excl_src + nh;
    snaps = (snap_t *)PyMem_Calloc((size_t)nh, sizeof(snap_t));
    snap_hist = (double *)PyMem_Calloc((size_t)(nh * S), sizeof(double));
    if (!snaps || !snap_hist) {
        nomem = 1;
        goto done;
    }

    /* ---- the table after the periodic update (CloudSimRun._optimize_python + HostTable.__init__) */
    for (int64_t h = 0; h < nh; h++) {
        o.avail[h] = o.cap[h];
        o.max_ram[h] = INT_MIN_D;
        o.peak[h] = peak_out[h];
        o.pnow[h] = spec_power(u[h], o.power + o.off[h]);
        snap_of[h] = -1;
        excl_src[h] = 0; /* here: the scheduler's "over-subscribed" flag */
    }
    for (int64_t k = 0; k < nslot; k++) {
        int64_t h = s_host[k], v = s_vm[k];
        /* the scheduler's available MIPS: sequential subtraction in list order; 0 once over-subscribed */
        if (!excl_src[h] && o.avail[h] >= c_slot[k])
            o.avail[h] -= c_slot[k];
        else
            excl_src[h] = 1;
        o.sum_c[h] += alloc[k];
        o.sum_r[h] += o.r[v];
        if (o.vm_ram[v] > o.max_ram[h])
            o.max_ram[h] = o.vm_ram[v];
        o.nlist[h] += 1;
        /* the host's utilization history (host_history: (u * mips) / host mips, summed in list order) */
        double *row = o.hist + h * S;
        const double *vr = o.vmh + v * S;
        double mv = o.vm_mips[v];
        for (int64_t q = 0; q < S; q++)
            row[q] += vr[q] * mv / o.cap[h];
        if (list_push(&o.lists[h], v) < 0) {
            nomem = 1;
            goto done;
        }
    }
    for (int64_t t = 0; t < ntypes; t++)
        o.rep[t] = -1;
    /* a. the over-utilized hosts */
    for (int64_t h = 0; h < nh; h++) {
        if (excl_src[h])
            o.avail[h] = 0.0;
        o.hlen[h] = trim_len(o.hist + h * S, S);
        if (o.mode == MODE_LR)
            set_ab(&o, h);
        int ov = over_now(&o, h);
        if (ov < 0)
            goto done;
        overloaded[h] = (uint8_t)ov;
    }
    for (int64_t h = 0; h < nh; h++) {
        o.pristine[h] = o.nlist[h] == 0 && u[h] == 0 && !overloaded[h];
        if (o.pristine[h] && o.rep[o.type[h]] < 0)
            o.rep[o.type[h]] = h;
    }

    /* ---- b. MMT on each over-utilized host, lowest id first */
    int64_t n_move = 0;
    for (int64_t h = 0; h < nh; h++) {
        if (!overloaded[h])
            continue;
        list_t *l = &o.lists[h];
        while (l->n) {
            int64_t p = 0;
            for (int64_t j = 1; j < l->n; j++)
                if (o.vm_ram[l->v[j]] < o.vm_ram[l->v[p]])
                    p = j;
            int64_t v = l->v[p];
            memmove(l->v + p, l->v + p + 1, (size_t)(l->n - p - 1) * sizeof(int64_t));
            l->n -= 1;
            o.nlist[h] -= 1;
            to_move[n_move++] = v;
            rebuild_o(&o, h, cbuf);
            int ov = over_now(&o, h);
            if (ov < 0)
                goto done;
            if (!ov)
                break;
        }
    }
    /* ---- c. PABFD, largest demand first (stable), over-utilized hosts excluded */
    sort_by_r_desc(to_move, n_move, o.r);
    int64_t n_mig = 0;
    for (int64_t k = 0; k < n_move; k++) {
        int64_t v = to_move[k];
        int64_t h = find_o(&o, v, overloaded, cd, cp);
        if (h == -2)
            goto done;
        if (h >= 0) {
            if (n_mig >= max_mig)
                goto done;
            if (create_o(&o, h, v) < 0) {
                nomem = 1;
                goto done;
            }
            out[2 * n_mig] = v;
            out[2 * n_mig + 1] = h;
            n_mig++;
        }
    }
    /* ---- d. under-utilized hosts, least utilized first (ties: lowest id): all VMs or none */
    int64_t n_excl = 0, n_order = 0;
    for (int64_t h = 0; h < nh; h++) {
        excl_src[h] = overloaded[h] || u[h] == 0;
        excl_tgt[h] = excl_src[h];
        n_excl += excl_src[h];
        if (!excl_src[h] && u[h] < 1)
            order[n_order++] = h;
    }
    sort_u = u;
    qsort(order, (size_t)n_order, sizeof(int64_t), cmp_by_u_then_id);
    for (int64_t q = 0; q < n_order; q++) {
        int64_t h = order[q];
        if (excl_src[h])
            continue;
        if (n_excl == nh)
            break;
        if (!o.lists[h].n)
            continue;
        excl_src[h] = 1;
        excl_tgt[h] = 1;
        n_excl++;
        int64_t nvms = o.lists[h].n;
        memcpy(vms, o.lists[h].v, (size_t)nvms * sizeof(int64_t));
        sort_by_r_desc(vms, nvms, o.r);
        int64_t n_placed = 0, n_snaps = 0;
        int failed = 0;
        for (int64_t k = 0; k < nvms; k++) {
            int64_t v = vms[k];
            int64_t j = find_o(&o, v, excl_tgt, cd, cp);
            if (j == -2)
                goto done;
            if (j < 0) {
                failed = 1;
                break;
            }
            if (snap_of[j] < 0) {
                snap_t *sn = &snaps[n_snaps];
                sn->h = j;
                sn->n = o.lists[j].n;
                sn->vms = (int64_t *)PyMem_Realloc(sn->vms, (size_t)(sn->n + 1) * sizeof(int64_t));
                if (!sn->vms) {
                    nomem = 1;
                    goto done;
                }
                memcpy(sn->vms, o.lists[j].v, (size_t)sn->n * sizeof(int64_t));
                sn->hist = snap_hist + n_snaps * S;
                memcpy(sn->hist, o.hist + j * S, (size_t)S * sizeof(double));
                sn->nlist = o.nlist[j];
                sn->hlen = o.hlen[j];
                sn->sum_c = o.sum_c[j];
                sn->avail = o.avail[j];
                sn->sum_r = o.sum_r[j];
                sn->max_ram = o.max_ram[j];
                sn->A = o.A[j];
                sn->B = o.B[j];
                sn->hz = o.hz[j];
                snap_of[j] = n_snaps++;
            }
            if (create_o(&o, j, v) < 0) {
                nomem = 1;
                goto done;
            }
            placed[2 * n_placed] = v;
            placed[2 * n_placed + 1] = j;
            n_placed++;
        }
        if (failed) {
            for (int64_t s2 = 0; s2 < n_snaps; s2++) {
                snap_t *sn = &snaps[s2];
                int64_t j = sn->h;
                memcpy(o.lists[j].v, sn->vms, (size_t)sn->n * sizeof(int64_t));
                o.lists[j].n = sn->n;
                memcpy(o.hist + j * S, sn->hist, (size_t)S * sizeof(double));
                o.nlist[j] = sn->nlist;
                o.hlen[j] = sn->hlen;
                o.sum_c[j] = sn->sum_c;
                o.avail[j] = sn->avail;
                o.sum_r[j] = sn->sum_r;
                o.max_ram[j] = sn->max_ram;
                o.A[j] = sn->A;
                o.B[j] = sn->B;
                o.hz[j] = sn->hz;
            }
        } else {
            for (int64_t k = 0; k < n_placed; k++) {
                int64_t t = placed[2 * k + 1];
                if (!excl_src[t]) {
                    excl_src[t] = 1;
                    n_excl++;
                }
                if (n_mig >= max_mig)
                    goto done; /* cannot happen with the caller's buffer (2 nv pairs); the Python path decides */
                out[2 * n_mig] = placed[2 * k];
                out[2 * n_mig + 1] = t;
                n_mig++;
            }
        }
        for (int64_t s2 = 0; s2 < n_snaps; s2++)
            snap_of[snaps[s2].h] = -1;
    }
    /* ---- close: the scheduler maps' peak sizes outlive the optimization */
    for (int64_t h = 0; h < nh; h++)
        if (o.peak[h] > peak_out[h])
            peak_out[h] = o.peak[h];
    result = n_mig;

done:
    if (snaps) {
        for (int64_t h = 0; h < nh; h++)
            PyMem_Free(snaps[h].vms);
        PyMem_Free(snaps);
    }
    PyMem_Free(snap_hist);
    free_opt(&o);
    PyBuffer_Release(&cb);
    if (nomem)
        return PyErr_NoMemory();
    return PyLong_FromLongLong(result);
}

static PyObject *opt_words(PyObject *self, PyObject *noargs)
{
    return Py_BuildValue("(sssssssssssssssssssssssssssssssssssssss)",
        "nh", "nv", "nslot", "s_vm", "s_host", "alloc", "c_slot", "over_out", "u", "peak", "type", "ntypes",
        "cap", "pe", "off", "power", "r", "vm_ram", "vm_mips", "vmh", "vm_hlen", "vm_lr", "vm_hz", "vm_res",
        "stride", "mode", "min_len", "w", "robust", "alpha", "beta", "hat", "out",
        "pe_min", "thr", "safety", "fallback", "mig_rate", "interval");
}


/* ============================================================================================================
 * initial_place(...): CloudSimRun._initial_placement at t = 0 (kumo/compat/_timeline.py), for the broker's VMs
 * in id order. kind 1: PABFD with the detector's test on a target reduced to "m / capacity > limit" (every
 * host's history is the single value 0, so LR/LRR/IQR/MAD use their short-history threshold and THR its own);
 * kind 0: first fit. Fills vm_host; grows peak as CloudSim's tentative creations do. Returns the first VM
 * without a host, or -1.
 * ========================================================================================================== */
static PyObject *initial_place(PyObject *self, PyObject *args)
{
    Py_buffer b_mips, b_ram, b_bw, b_pe, b_cap, b_hram, b_hbw, b_power, b_off, b_peak, b_out;
    int kind;
    double limit;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*w*w*id", &b_mips, &b_ram, &b_bw, &b_pe, &b_cap, &b_hram, &b_hbw,
                          &b_power, &b_off, &b_peak, &b_out, &kind, &limit))
        return NULL;
    const double *mips = b_mips.buf, *vram = b_ram.buf, *vbw = b_bw.buf, *pe = b_pe.buf, *cap = b_cap.buf;
    const double *power = b_power.buf;
    const int64_t *off = b_off.buf;
    int64_t *peak = b_peak.buf, *vm_host = b_out.buf;
    Py_ssize_t nh = b_cap.len / (Py_ssize_t)sizeof(double), nv = b_mips.len / (Py_ssize_t)sizeof(double);
    long long missing = -1;
    double *avail = PyMem_Malloc((size_t)(4 * nh + 1) * sizeof(double));
    int64_t *nlist = PyMem_Calloc((size_t)nh + 1, sizeof(int64_t));
    if (!avail || !nlist) {
        PyMem_Free(avail);
        PyMem_Free(nlist);
        PyBuffer_Release(&b_mips); PyBuffer_Release(&b_ram); PyBuffer_Release(&b_bw); PyBuffer_Release(&b_pe);
        PyBuffer_Release(&b_cap); PyBuffer_Release(&b_hram); PyBuffer_Release(&b_hbw); PyBuffer_Release(&b_power);
        PyBuffer_Release(&b_off); PyBuffer_Release(&b_peak); PyBuffer_Release(&b_out);
        return PyErr_NoMemory();
    }
    double *ram = avail + nh, *bw = ram + nh, *sum_c = bw + nh;
    for (Py_ssize_t h = 0; h < nh; h++) {
        avail[h] = cap[h];
        ram[h] = ((const double *)b_hram.buf)[h];
        bw[h] = ((const double *)b_hbw.buf)[h];
        sum_c[h] = 0.0;
    }
    for (Py_ssize_t v = 0; v < nv; v++) {
        double m = mips[v];
        int64_t best = -1;
        double best_diff = INFINITY;
        for (Py_ssize_t h = 0; h < nh; h++) {
            if (!(pe[h] >= m) || !(avail[h] >= m) || !(ram[h] >= vram[v]) || !(bw[h] >= vbw[v]))
                continue;
            if (kind == 0) {
                best = h;
                break;
            }
            if (sum_c[h] != 0) {
                if (nlist[h] >= peak[h])
                    peak[h] = nlist[h] + 1;
                if ((0.0 + m) / cap[h] > limit)
                    continue;
            }
            double diff = spec_power((sum_c[h] + m) / cap[h], power + off[h]) - power[off[h]];
            if (diff < best_diff) {
                best = h;
                best_diff = diff;
            }
        }
        if (best < 0) {
            missing = v;
            break;
        }
        avail[best] -= m;
        ram[best] -= vram[v];
        bw[best] -= vbw[v];
        sum_c[best] += m;
        nlist[best] += 1;
        if (nlist[best] > peak[best])
            peak[best] = nlist[best];
        vm_host[v] = best;
    }
    PyMem_Free(avail);
    PyMem_Free(nlist);
    PyBuffer_Release(&b_mips); PyBuffer_Release(&b_ram); PyBuffer_Release(&b_bw); PyBuffer_Release(&b_pe);
    PyBuffer_Release(&b_cap); PyBuffer_Release(&b_hram); PyBuffer_Release(&b_hbw); PyBuffer_Release(&b_power);
    PyBuffer_Release(&b_off); PyBuffer_Release(&b_peak); PyBuffer_Release(&b_out);
    return PyLong_FromLongLong(missing);
}

/* hashmap_totals(s_hash, s_host, q, over, peak, tot): for each over-subscribed host, its slots' q summed in
 * java.util.HashMap iteration order (bucket = hash & (table size - 1), then list order), as
 * CloudSimRun._hashmap_totals; the table size is 16 doubled while peak > 0.75 x size. Slots are host-major. */
static PyObject *hashmap_totals(PyObject *self, PyObject *args)
{
    Py_buffer b_hash, b_host, b_q, b_over, b_peak, b_tot;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*w*", &b_hash, &b_host, &b_q, &b_over, &b_peak, &b_tot))
        return NULL;
    const int64_t *hash = b_hash.buf, *host = b_host.buf, *peak = b_peak.buf;
    const double *q = b_q.buf;
    const uint8_t *over = b_over.buf;
    double *tot = b_tot.buf;
    Py_ssize_t n = b_host.len / (Py_ssize_t)sizeof(int64_t);
    int64_t idx[4096];
    Py_ssize_t a = 0;
    int ok = 1;
    while (a < n) {
        int64_t h = host[a];
        Py_ssize_t b = a;
        while (b < n && host[b] == h)
            b++;
        if (over[h]) {
            Py_ssize_t k = b - a;
            if (k > 4096) {
                ok = 0;
                break;
            }
            int64_t size = 16;
            while ((double)peak[h] > 0.75 * (double)size)
                size *= 2;
            for (Py_ssize_t j = 0; j < k; j++) { /* stable insertion sort of the slots by bucket */
                int64_t key = a + j;
                int64_t bk = hash[key] & (size - 1);
                Py_ssize_t m = j - 1;
                while (m >= 0 && (hash[idx[m]] & (size - 1)) > bk) {
                    idx[m + 1] = idx[m];
                    m--;
                }
                idx[m + 1] = key;
            }
            double s = 0.0;
            for (Py_ssize_t j = 0; j < k; j++)
                s += q[idx[j]];
            tot[h] = s;
        }
        a = b;
    }
    PyBuffer_Release(&b_hash); PyBuffer_Release(&b_host); PyBuffer_Release(&b_q); PyBuffer_Release(&b_over);
    PyBuffer_Release(&b_peak); PyBuffer_Release(&b_tot);
    if (!ok)
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}


/* ============================================================================================================
 * host_update(...): the allocation part of every host's updateVmsProcessing (CloudSimRun._update): per slot
 * (host-major, list order) the capped request c, the allocation; per host the requested total, the exact
 * over-subscription test, the proportional floor() shares in HashMap order, U (allocated, migrating-out VMs
 * counted at full share) and R (requested). role: 0 = migrating out (90 %), 1 = normal, 2 = migrating in (10 %).
 * grow_peak: also raise peak to each host's slot count (the slots changed since the last update).
 * ========================================================================================================== */
static PyObject *host_update(PyObject *self, PyObject *args)
{
    Py_buffer b_rs, b_host, b_role, b_hash, b_pe, b_cap, b_peak, b_c, b_alloc, b_U, b_R;
    int grow_peak;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*w*w*w*w*p", &b_rs, &b_host, &b_role, &b_hash, &b_pe, &b_cap, &b_peak,
                          &b_c, &b_alloc, &b_U, &b_R, &grow_peak))
        return NULL;
    const double *rs = b_rs.buf, *pe = b_pe.buf, *cap = b_cap.buf;
    const int64_t *host = b_host.buf, *role = b_role.buf, *hash = b_hash.buf;
    int64_t *peak = b_peak.buf;
    double *c = b_c.buf, *alloc = b_alloc.buf, *U = b_U.buf, *R = b_R.buf;
    Py_ssize_t n = b_rs.len / (Py_ssize_t)sizeof(double), nh = b_cap.len / (Py_ssize_t)sizeof(double);
    int ok = 1;
    int64_t idx[4096];
    for (Py_ssize_t h = 0; h < nh; h++) {
        U[h] = 0.0;
        R[h] = 0.0;
    }
    Py_ssize_t a = 0;
    while (a < n) {
        int64_t h = host[a];
        Py_ssize_t b = a;
        while (b < n && host[b] == h)
            b++;
        double totq = 0.0;
        for (Py_ssize_t k = a; k < b; k++) {
            double x = rs[k] <= pe[h] ? rs[k] : pe[h];
            c[k] = x;
            double q = role[k] == 2 ? x * 0.1 : x;
            alloc[k] = role[k] == 0 ? x * 0.9 : q;
            totq += q;
        }
        if (grow_peak && (int64_t)(b - a) > peak[h])
            peak[h] = (int64_t)(b - a);
        int over = totq > cap[h];
        if (fabs(totq - cap[h]) <= 1e-9 * cap[h]) {
            /* too close to call: the scheduler's sequential "available >= request" test */
            double av = cap[h];
            over = 0;
            for (Py_ssize_t k = a; k < b; k++) {
                double q = role[k] == 2 ? c[k] * 0.1 : c[k];
                if (av >= q)
                    av -= q;
                else {
                    over = 1;
                    break;
                }
            }
        }
        if (over) {
            Py_ssize_t cnt = b - a;
            if (cnt > 4096) {
                ok = 0;
                break;
            }
            int64_t size = 16;
            while ((double)peak[h] > 0.75 * (double)size)
                size *= 2;
            for (Py_ssize_t j = 0; j < cnt; j++) {
                int64_t key = a + j;
                int64_t bk = hash[key] & (size - 1);
                Py_ssize_t m = j - 1;
                while (m >= 0 && (hash[idx[m]] & (size - 1)) > bk) {
                    idx[m + 1] = idx[m];
                    m--;
                }
                idx[m + 1] = key;
            }
            double tot = 0.0;
            for (Py_ssize_t j = 0; j < cnt; j++) {
                int64_t k = idx[j];
                tot += role[k] == 2 ? c[k] * 0.1 : c[k];
            }
            double scale = cap[h] / tot;
            for (Py_ssize_t k = a; k < b; k++) {
                if (role[k] == 0)
                    alloc[k] = floor(c[k] * scale * 0.9);
                else if (role[k] == 2)
                    alloc[k] = floor(c[k] * 0.1 * scale);
                else
                    alloc[k] = floor(c[k] * scale);
            }
        }
        double u = 0.0, r = 0.0;
        for (Py_ssize_t k = a; k < b; k++) {
            u += role[k] == 0 ? alloc[k] / 0.9 : alloc[k];
            r += rs[k];
        }
        U[h] = u;
        R[h] = r;
        a = b;
    }
    PyBuffer_Release(&b_rs); PyBuffer_Release(&b_host); PyBuffer_Release(&b_role); PyBuffer_Release(&b_hash);
    PyBuffer_Release(&b_pe); PyBuffer_Release(&b_cap); PyBuffer_Release(&b_peak); PyBuffer_Release(&b_c);
    PyBuffer_Release(&b_alloc); PyBuffer_Release(&b_U); PyBuffer_Release(&b_R);
    if (!ok)
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}


/* spec_power_vec(u, off, power, out): CloudSim's P(u) for every host (kumo.compat._model.spec_power_flat) */
static PyObject *spec_power_vec(PyObject *self, PyObject *args)
{
    Py_buffer b_u, b_off, b_power, b_out;
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &b_u, &b_off, &b_power, &b_out))
        return NULL;
    const double *u = b_u.buf, *power = b_power.buf;
    const int64_t *off = b_off.buf;
    double *out = b_out.buf;
    Py_ssize_t n = b_u.len / (Py_ssize_t)sizeof(double);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = spec_power(u[i], power + off[i]);
    PyBuffer_Release(&b_u); PyBuffer_Release(&b_off); PyBuffer_Release(&b_power); PyBuffer_Release(&b_out);
    Py_RETURN_NONE;
}


/* ============================================================================================================
 * State histories (kumo/compat/_accounting.py Histories): the host and VM entries of one instant, finishing
 * the pending entries of an earlier instant. Rows are appended to the caller's logs (capacity reserved by
 * the caller); returns the new row counts.
 * ========================================================================================================== */

/* hist_hosts(t, U, R, h_t, h_alloc, h_req, was_active, on_since, act_host, act_dt, viol_dt, n_act,
 *            down_host, down_val, n_down) -> (n_act, n_down): every host gets the entry (t, U, R) */
static PyObject *hist_hosts(PyObject *self, PyObject *args)
{
    double t;
    Py_buffer bU, bR, bt, ba, bq, bw, bo, bah, bad, bav, bdh, bdv;
    Py_ssize_t n_act, n_down;
    if (!PyArg_ParseTuple(args, "dy*y*w*w*w*w*w*w*w*w*nw*w*n", &t, &bU, &bR, &bt, &ba, &bq, &bw, &bo, &bah, &bad, &bav,
                          &n_act, &bdh, &bdv, &n_down))
        return NULL;
    const double *U = bU.buf, *R = bR.buf;
    double *h_t = bt.buf, *h_alloc = ba.buf, *h_req = bq.buf, *on_since = bo.buf;
    uint8_t *was = bw.buf;
    int64_t *act_host = bah.buf, *down_host = bdh.buf;
    double *act_dt = bad.buf, *viol_dt = bav.buf, *down_val = bdv.buf;
    Py_ssize_t nh = bt.len / (Py_ssize_t)sizeof(double);
    for (Py_ssize_t h = 0; h < nh; h++) {
        double pt = h_t[h];
        if (pt >= 0 && pt != t) {
            double a = h_alloc[h];
            int active = a > 0;
            if (active) {
                double dt = t - pt;
                act_host[n_act] = h;
                act_dt[n_act] = dt;
                viol_dt[n_act] = a < h_req[h] ? dt : 0.0;
                n_act++;
            }
            if (was[h] && !active) {
                down_host[n_down] = h;
                down_val[n_down] = pt - on_since[h];
                n_down++;
            }
            if (!was[h] && active)
                on_since[h] = pt;
            was[h] = (uint8_t)active;
        }
        h_t[h] = t;
        h_alloc[h] = U[h];
        h_req[h] = R[h];
    }
    PyBuffer_Release(&bU); PyBuffer_Release(&bR); PyBuffer_Release(&bt); PyBuffer_Release(&ba);
    PyBuffer_Release(&bq); PyBuffer_Release(&bw); PyBuffer_Release(&bo); PyBuffer_Release(&bah);
    PyBuffer_Release(&bad); PyBuffer_Release(&bav); PyBuffer_Release(&bdh); PyBuffer_Release(&bdv);
    return Py_BuildValue("nn", n_act, n_down);
}

/* hist_vms(t, vms, alloc, req, mig, v_t, v_alloc, v_req, v_mig, was_mig, mig_since, tot_alloc, tot_req,
 *          under_mig, ratio_vm, ratio, n_ratio, migt_vm, migt_val, n_migt) -> (n_ratio, n_migt) */
static PyObject *hist_vms(PyObject *self, PyObject *args)
{
    double t;
    Py_buffer bv, bal, brq, bmg, bt, ba, bq, bm, bw, bs, bta, btq, bu, brv, brr, bmv, bmt;
    Py_ssize_t n_ratio, n_migt;
    if (!PyArg_ParseTuple(args, "dy*y*y*y*w*w*w*w*w*w*w*w*w*w*w*nw*w*n", &t, &bv, &bal, &brq, &bmg, &bt, &ba, &bq,
                          &bm, &bw, &bs, &bta, &btq, &bu, &brv, &brr, &n_ratio, &bmv, &bmt, &n_migt))
        return NULL;
    const int64_t *vms = bv.buf;
    const double *alloc = bal.buf, *req = brq.buf;
    const uint8_t *mig = bmg.buf;
    double *v_t = bt.buf, *v_alloc = ba.buf, *v_req = bq.buf, *mig_since = bs.buf;
    double *tot_alloc = bta.buf, *tot_req = btq.buf, *under = bu.buf, *ratio = brr.buf, *migt_val = bmt.buf;
    uint8_t *v_mig = bm.buf, *was = bw.buf;
    int64_t *ratio_vm = brv.buf, *migt_vm = bmv.buf;
    Py_ssize_t n = bv.len / (Py_ssize_t)sizeof(int64_t);
    for (Py_ssize_t k = 0; k < n; k++) {
        int64_t v = vms[k];
        double pt = v_t[v];
        if (pt >= 0 && pt != t) {
            double a = v_alloc[v], r = v_req[v];
            int m = v_mig[v] != 0;
            double dt = t - pt;
            tot_alloc[v] += a * dt;
            tot_req[v] += r * dt;
            if (a < r) {
                ratio_vm[n_ratio] = v;
                ratio[n_ratio] = (r - a) / r;
                n_ratio++;
                if (m)
                    under[v] += (r - a) * dt;
            }
            if (was[v] && !m) {
                migt_vm[n_migt] = v;
                migt_val[n_migt] = pt - mig_since[v];
                n_migt++;
            }
            if (!was[v] && m)
                mig_since[v] = pt;
            was[v] = (uint8_t)m;
        }
        v_t[v] = t;
        v_alloc[v] = alloc[k];
        v_req[v] = req[k];
        v_mig[v] = mig[k] != 0;
    }
    PyBuffer_Release(&bv); PyBuffer_Release(&bal); PyBuffer_Release(&brq); PyBuffer_Release(&bmg);
    PyBuffer_Release(&bt); PyBuffer_Release(&ba); PyBuffer_Release(&bq); PyBuffer_Release(&bm);
    PyBuffer_Release(&bw); PyBuffer_Release(&bs); PyBuffer_Release(&bta); PyBuffer_Release(&btq);
    PyBuffer_Release(&bu); PyBuffer_Release(&brv); PyBuffer_Release(&brr); PyBuffer_Release(&bmv);
    PyBuffer_Release(&bmt);
    return Py_BuildValue("nn", n_ratio, n_migt);
}

static PyObject *layout(PyObject *self, PyObject *noargs)
{
    /* the word names in order, so that Python fills the context by name */
    return Py_BuildValue("(sssssssssssssssssssssssssssssssss)",
        "avail", "pe", "sum_c", "sum_r", "cap", "pnow", "off", "nlist", "peak", "host", "hlen", "hist",
        "A", "B", "hz",
        "r", "vm_mips", "vm_lr", "vm_hz", "vm_hlen", "vm_res", "vmh",
        "power", "hat", "hist_stride", "w", "mode", "min_len", "robust",
        "pe_min", "thr", "safety", "fallback");
}

static PyMethodDef methods[] = {
    {"pabfd", pabfd, METH_VARARGS, "pabfd(ctx, n, v, excluded) -> position, -1 (none) or -2 (use the Python path)"},
    {"spread_now", spread_now, METH_VARARGS, "spread_now(ctx, i) -> IQR/MAD verdict on position i (0/1) or -2"},
    {"optimize_mmt", optimize_mmt, METH_VARARGS, "optimize_mmt(ctx) -> migrations written to ctx's out buffer, or -2"},
    {"opt_words", opt_words, METH_NOARGS, "names of the 64-bit words of an optimize_mmt context, in order"},
    {"initial_place", initial_place, METH_VARARGS, "CloudSim's initial placement at t = 0 (see the C source)"},
    {"hashmap_totals", hashmap_totals, METH_VARARGS, "over-subscribed hosts' totals in HashMap order"},
    {"host_update", host_update, METH_VARARGS, "allocation part of every host's update (see the C source)"},
    {"spec_power_vec", spec_power_vec, METH_VARARGS, "spec_power_vec(u, off, power, out): P(u) per host"},
    {"hist_hosts", hist_hosts, METH_VARARGS, "every host's state-history entry at one instant"},
    {"hist_vms", hist_vms, METH_VARARGS, "VM state-history entries at one instant"},
    {"words", layout, METH_NOARGS, "names of the 64-bit words of a context, in order"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernel", "PABFD kernel for kumo's CloudSim compatibility mode.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
