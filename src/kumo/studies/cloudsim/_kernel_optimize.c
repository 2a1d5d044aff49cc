#include "_kernel.h"

/* ============================================================================================================
 * optimize_mmt: one whole optimizeAllocation with MMT selection (kumo/studies/cloudsim/_optimize.py optimize() with
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
    O_PE_MIN, O_THR, O_SAFETY, O_FALLBACK, O_MIG_RATE, O_INTERVAL, O_SEL,
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
    int64_t *scan, nscan; /* the hosts PABFD scans, ascending: every non-pristine host and each type's rep */
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

/* robust-fit screen on host h's window (plus f x VM v's share when v >= 0) */
static int maybe_robust_o(const opt_t *o, const double *hw, int64_t v, double f)
{
    if (v < 0)
        return robust_may_depart(hw, o->hat, o->w, NULL, NULL, 0.0);
    return robust_may_depart(hw, o->hat, o->w, o->vm_res + v * o->w, o->vmh + v * o->stride, f);
}

/* IQR/MAD verdict on host h (+ VM v when v >= 0) */
static int spread_o(const opt_t *o, int64_t h, int64_t v)
{
    const double *hist = o->hist + h * o->stride;
    int64_t n = o->hlen[h];
    if (v < 0)
        return spread_verdict(o->mode, hist, n, NULL, 0.0, o->cap[h], o->sum_r[h] / o->cap[h], o->min_len,
                              o->fallback, o->safety);
    return spread_verdict(o->mode, hist, o->vm_hlen[v] > n ? o->vm_hlen[v] : n, o->vmh + v * o->stride,
                          o->vm_mips[v], o->cap[h], (o->sum_r[h] + o->r[v]) / o->cap[h], o->min_len, o->fallback,
                          o->safety);
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


/* PABFD findHostForVm: host id, -1 (none) or -2 (close call) */
static int64_t find_o(opt_t *o, int64_t v, const uint8_t *excluded, double *cd, int64_t *cp)
{
    const double req = o->r[v];
    const int short_vm = o->vm_hlen[v] < o->min_len;
    const int spread_mode = o->mode == MODE_IQR || o->mode == MODE_MAD;
    int64_t best = -1, k = 0;
    double best_diff = INFINITY, rej_min = INFINITY;
    for (int64_t q = 0; q < o->nscan; q++) {
        int64_t h = o->scan[q];
        if (!(o->avail[h] >= req) || excluded[h] || (req > o->pe_min && !(o->pe[h] >= req)))
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
        for (int64_t q = 0; q < o->nscan; q++) {
            int64_t h = o->scan[q];
            if (!(o->avail[h] >= req) || excluded[h] || (req > o->pe_min && !(o->pe[h] >= req)) ||
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
                /* the new representative joins the scan list, in id order */
                int64_t q = o->nscan;
                while (q > 0 && o->scan[q - 1] > g) {
                    o->scan[q] = o->scan[q - 1];
                    q--;
                }
                o->scan[q] = g;
                o->nscan++;
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

/* keep host h's list, history and sums in sn (sn->hist points at S doubles); -1: out of memory */
static int snap_save(const opt_t *o, snap_t *sn, int64_t h, int64_t S)
{
    sn->h = h;
    sn->n = o->lists[h].n;
    sn->vms = (int64_t *)PyMem_Realloc(sn->vms, (size_t)(sn->n + 1) * sizeof(int64_t));
    if (!sn->vms)
        return -1;
    memcpy(sn->vms, o->lists[h].v, (size_t)sn->n * sizeof(int64_t));
    memcpy(sn->hist, o->hist + h * S, (size_t)S * sizeof(double));
    sn->nlist = o->nlist[h];
    sn->hlen = o->hlen[h];
    sn->sum_c = o->sum_c[h];
    sn->avail = o->avail[h];
    sn->sum_r = o->sum_r[h];
    sn->max_ram = o->max_ram[h];
    sn->A = o->A[h];
    sn->B = o->B[h];
    sn->hz = o->hz[h];
    return 0;
}

/* put back what snap_save kept */
static void snap_restore(opt_t *o, const snap_t *sn, int64_t S)
{
    int64_t h = sn->h;
    memcpy(o->lists[h].v, sn->vms, (size_t)sn->n * sizeof(int64_t));
    o->lists[h].n = sn->n;
    memcpy(o->hist + h * S, sn->hist, (size_t)S * sizeof(double));
    o->nlist[h] = sn->nlist;
    o->hlen[h] = sn->hlen;
    o->sum_c[h] = sn->sum_c;
    o->avail[h] = sn->avail;
    o->sum_r[h] = sn->sum_r;
    o->max_ram[h] = sn->max_ram;
    o->A[h] = sn->A;
    o->B[h] = sn->B;
    o->hz[h] = sn->hz;
}

static void free_opt(opt_t *o)
{
    if (o->lists)
        for (int64_t h = 0; h < o->nh; h++)
            PyMem_Free(o->lists[h].v);
    PyMem_Free(o->lists);
    PyMem_Free(o->avail);
    PyMem_Free(o->nlist);
    PyMem_Free(o->pristine);
    PyMem_Free(o->scan);
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
PyObject *kumo_optimize_mmt(PyObject *self, PyObject *args)
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
    const int64_t sel = c[O_SEL].i;  /* 0 MMT, 1 MU (relative), 2 MU (absolute) */

    long long result = -2;
    int nomem = 0;
    /* one block of doubles: avail sum_c sum_r max_ram A B hz pnow (8 nh) + hist (nh S) + scratch (3 nv + 2 nh) */
    size_t nd = (size_t)(8 * nh + nh * S + 3 * nv + 2 * nh);
    o.avail = (double *)PyMem_Calloc(nd, sizeof(double));
    o.nlist = (int64_t *)PyMem_Calloc((size_t)(4 * nh + ntypes + 4 * nv + 2 * nh + 8), sizeof(int64_t));
    o.pristine = (uint8_t *)PyMem_Calloc((size_t)(3 * nh + 8), 1);
    o.lists = (list_t *)PyMem_Calloc((size_t)nh, sizeof(list_t));
    o.scan = (int64_t *)PyMem_Calloc((size_t)nh + 1, sizeof(int64_t));
    snap_t *snaps = NULL;
    double *snap_hist = NULL;
    if (!o.avail || !o.nlist || !o.pristine || !o.lists || !o.scan) {
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
        if (!o.pristine[h] || o.rep[o.type[h]] == h)
            o.scan[o.nscan++] = h;
    }

    /* ---- b. MMT on each over-utilized host, lowest id first */
    int64_t n_move = 0;
    for (int64_t h = 0; h < nh; h++) {
        if (!overloaded[h])
            continue;
        list_t *l = &o.lists[h];
        while (l->n) {
            /* the first VM of least key: MMT = RAM; MU = requested / booked MIPS (sel 1) or requested (sel 2) */
            int64_t p = 0;
            if (sel == 0) {
                for (int64_t j = 1; j < l->n; j++)
                    if (o.vm_ram[l->v[j]] < o.vm_ram[l->v[p]])
                        p = j;
            } else {
                double best = sel == 1 ? o.r[l->v[0]] / o.vm_mips[l->v[0]] : o.r[l->v[0]];
                for (int64_t j = 1; j < l->n; j++) {
                    double key = sel == 1 ? o.r[l->v[j]] / o.vm_mips[l->v[j]] : o.r[l->v[j]];
                    if (key < best) {
                        best = key;
                        p = j;
                    }
                }
            }
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
                snaps[n_snaps].hist = snap_hist + n_snaps * S;
                if (snap_save(&o, &snaps[n_snaps], j, S) < 0) {
                    nomem = 1;
                    goto done;
                }
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
            for (int64_t s2 = 0; s2 < n_snaps; s2++)
                snap_restore(&o, &snaps[s2], S);
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

PyObject *kumo_opt_words(PyObject *self, PyObject *noargs)
{
    return Py_BuildValue("(ssssssssssssssssssssssssssssssssssssssss)",
        "nh", "nv", "nslot", "s_vm", "s_host", "alloc", "c_slot", "over_out", "u", "peak", "type", "ntypes",
        "cap", "pe", "off", "power", "r", "vm_ram", "vm_mips", "vmh", "vm_hlen", "vm_lr", "vm_hz", "vm_res",
        "stride", "mode", "min_len", "w", "robust", "alpha", "beta", "hat", "out",
        "pe_min", "thr", "safety", "fallback", "mig_rate", "interval", "sel");
}


