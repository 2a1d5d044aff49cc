/* optimize(facts, cap, pe, off, type, u, peak, s_vm, s_host, c_slot, alloc, out, over, sel): one whole
 * optimizeAllocation with MMT or MU selection (kumo/studies/cloudsim/_optimize.py optimize_python with
 * select_from) for the THR/LR/LRR/IQR/MAD detectors, on the hosts_t layout with position = host id. Every
 * host is scanned in id order, except empty pristine hosts, of which only the lowest id per type is scanned
 * (they all score alike and ties go to the lowest id; the Python HostTable's "universe" does the same).
 * Returns the number of (vm, host) migrations written to out, or PABFD_PYTHON when a close call needs the
 * exact Python code: nothing outside has changed then, and the caller runs the Python optimize. On success
 * peak grows as in Python and over holds the over-utilized hosts (step a).
 */
#include "_kernel.h"

#define INT_MIN_D (-2147483648.0)

typedef struct {
    int64_t *v;
    int64_t n, cap;
} list_t;

/* the optimize path's state: the hosts (positions = host ids) plus what only this path keeps */
typedef struct {
    const facts_t *F;
    hosts_t H;
    int64_t nh;
    /* writable views of H's arrays */
    double *avail, *sum_c, *sum_r, *pnow, *hist, *A, *B, *hz, *max_ram;
    int64_t *nlist, *hlen, *rep, *scan;
    const int64_t *type;
    uint8_t *pristine;
    list_t *lists;
} opt_t;

typedef struct {
    const double *cap, *pe, *u, *c_slot, *alloc;
    const int64_t *off, *type, *s_vm, *s_host;
    int64_t *peak, *out;
    uint8_t *over;
    int64_t sel; /* 0 MMT, 1 MU (requested / booked MIPS), 2 MU (requested MIPS) */
} opt_args_t;

static const arg_t OPT_ARGS[] = {
    {"cap", A_F64, 'H', 0, A_REQUIRED, offsetof(opt_args_t, cap)},
    {"pe", A_F64, 'H', 0, A_REQUIRED, offsetof(opt_args_t, pe)},
    {"off", A_I64, 'H', 0, A_REQUIRED, offsetof(opt_args_t, off)},
    {"type", A_I64, 'H', 0, A_REQUIRED, offsetof(opt_args_t, type)},
    {"u", A_F64, 'H', 0, A_REQUIRED, offsetof(opt_args_t, u)},
    {"peak", A_I64, 'H', 0, A_WRITE, offsetof(opt_args_t, peak)},
    {"s_vm", A_I64, 'N', 0, A_REQUIRED, offsetof(opt_args_t, s_vm)},
    {"s_host", A_I64, 'N', 0, A_REQUIRED, offsetof(opt_args_t, s_host)},
    {"c_slot", A_F64, 'N', 0, A_REQUIRED, offsetof(opt_args_t, c_slot)},
    {"alloc", A_F64, 'N', 0, A_REQUIRED, offsetof(opt_args_t, alloc)},
    {"out", A_I64, 'M', '2', A_WRITE, offsetof(opt_args_t, out)},
    {"over", A_U8, 'H', 0, A_WRITE, offsetof(opt_args_t, over)},
    {"sel", A_INT, 0, 0, A_REQUIRED, offsetof(opt_args_t, sel)},
};
#define OPT_NARGS ((Py_ssize_t)(sizeof(OPT_ARGS) / sizeof(OPT_ARGS[0])))

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

static inline double horizon_of(const facts_t *F, double max_ram)
{
    return 10.0 + ceil(max_ram / F->mig_rate / F->interval);
}

/* LR: the OLS intercept and slope of host h's window, and its horizon */
static void set_ab(opt_t *o, int64_t h)
{
    const facts_t *F = o->F;
    const double *hw = o->hist + h * F->stride;
    double a = 0.0, b = 0.0;
    for (int64_t k = 0; k < F->w; k++) {
        a += hw[k] * F->alpha[k];
        b += hw[k] * F->beta[k];
    }
    o->A[h] = a;
    o->B[h] = b;
    o->hz[h] = horizon_of(F, o->max_ram[h]);
}

static inline int64_t trim_len(const double *row, int64_t stride)
{
    for (int64_t k = stride - 1; k >= 0; k--)
        if (row[k] != 0.0)
            return k + 1;
    return 1;
}

/* host.vmCreate(vm) for a VM that fits (HostTable.create) */
static int create_o(opt_t *o, int64_t h, int64_t v)
{
    const facts_t *F = o->F;
    const int64_t S = F->stride;
    if (o->pristine[h]) {
        /* the type's representative empty host received a VM: the next pristine host of its type stands in */
        int64_t t = o->type[h];
        o->pristine[h] = 0;
        o->rep[t] = -1;
        for (int64_t g = h + 1; g < o->nh; g++)
            if (o->pristine[g] && o->type[g] == t) {
                o->rep[t] = g;
                /* the new representative joins the scan list, in id order */
                int64_t q = o->H.nscan;
                while (q > 0 && o->scan[q - 1] > g) {
                    o->scan[q] = o->scan[q - 1];
                    q--;
                }
                o->scan[q] = g;
                o->H.nscan++;
                break;
            }
    }
    if (list_push(&o->lists[h], v) < 0)
        return -1;
    double req = F->r[v];
    o->nlist[h] += 1;
    if (o->nlist[h] > o->H.peak[h])
        o->H.peak[h] = o->nlist[h];
    o->sum_c[h] += req;
    o->avail[h] -= req;
    o->sum_r[h] += req;
    if (F->ram[v] > o->max_ram[h])
        o->max_ram[h] = F->ram[v];
    double *row = o->hist + h * S;
    const double *vr = F->hist + v * S;
    double mv = F->mips[v];
    for (int64_t k = 0; k < S; k++)
        row[k] = row[k] + vr[k] * mv / o->H.cap[h];
    if (F->hlen[v] > o->hlen[h])
        o->hlen[h] = F->hlen[v];
    if (F->mode == MODE_LR) {
        double f = mv / o->H.cap[h];
        o->A[h] += F->lr[2 * v] * f;
        o->B[h] += F->lr[2 * v + 1] * f;
        o->hz[h] = horizon_of(F, o->max_ram[h]);
    }
    return 0;
}

/* the scheduler's sums after host.vmDestroy (HostTable.rebuild) */
static void rebuild_o(opt_t *o, int64_t h, double *cbuf)
{
    const facts_t *F = o->F;
    const int64_t S = F->stride;
    list_t *l = &o->lists[h];
    double cap = o->H.cap[h], pe = o->H.pe[h];
    double s_r = 0.0, avail = cap;
    int over = 0;
    for (int64_t j = 0; j < l->n; j++) {
        double x = F->r[l->v[j]];
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
    double *row = o->hist + h * S;
    if (l->n) {
        double mr = -INFINITY;
        for (int64_t k = 0; k < S; k++) {
            double acc = 0.0;
            for (int64_t j = 0; j < l->n; j++) {
                int64_t v = l->v[j];
                double term = F->hist[v * S + k] * F->mips[v] / cap;
                acc = j ? acc + term : term;
            }
            row[k] = acc;
        }
        for (int64_t j = 0; j < l->n; j++)
            if (F->ram[l->v[j]] > mr)
                mr = F->ram[l->v[j]];
        o->max_ram[h] = mr;
    } else {
        for (int64_t k = 0; k < S; k++)
            row[k] = 0.0;
        o->max_ram[h] = INT_MIN_D;
    }
    o->hlen[h] = trim_len(row, S);
    if (F->mode == MODE_LR)
        set_ab(o, h);
}

typedef struct {
    int64_t h, n, nlist, hlen;
    double sum_c, avail, sum_r, max_ram, A, B, hz;
    double *hist;
    int64_t *vms;
} snap_t;

/* keep host h's list, history and sums in sn (sn->hist points at S doubles); -1: out of memory */
static int snap_save(const opt_t *o, snap_t *sn, int64_t h)
{
    const int64_t S = o->F->stride;
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
static void snap_restore(opt_t *o, const snap_t *sn)
{
    const int64_t S = o->F->stride;
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

/* the first VM of least key on list l: MMT = RAM; MU = requested / booked MIPS (sel 1) or requested (sel 2) */
static int64_t select_one(const facts_t *F, const list_t *l, int64_t sel)
{
    int64_t p = 0;
    if (sel == 0) {
        for (int64_t j = 1; j < l->n; j++)
            if (F->ram[l->v[j]] < F->ram[l->v[p]])
                p = j;
        return p;
    }
    double best = sel == 1 ? F->r[l->v[0]] / F->mips[l->v[0]] : F->r[l->v[0]];
    for (int64_t j = 1; j < l->n; j++) {
        double key = sel == 1 ? F->r[l->v[j]] / F->mips[l->v[j]] : F->r[l->v[j]];
        if (key < best) {
            best = key;
            p = j;
        }
    }
    return p;
}

/* steps a to d; the result, or PABFD_PYTHON, or -4 (out of memory) */
static long long run_optimize(opt_t *o, const opt_args_t *a, int64_t nslot, int64_t ntypes, int64_t max_mig)
{
    const facts_t *F = o->F;
    const int64_t nh = o->nh, nv = F->nv, S = F->stride;
    hosts_t *H = &o->H;
    /* scratch: per host int64 (cand pos, order, snap_of), per VM (to_move, vms, 2 x placed) */
    int64_t *ibuf = (int64_t *)PyMem_Calloc((size_t)(3 * nh + 4 * nv + 4), sizeof(int64_t));
    double *dbuf = (double *)PyMem_Calloc((size_t)(nh + nv + nh * S + 2), sizeof(double));
    uint8_t *bbuf = (uint8_t *)PyMem_Calloc((size_t)(3 * nh + 2), 1);
    snap_t *snaps = (snap_t *)PyMem_Calloc((size_t)nh + 1, sizeof(snap_t));
    long long result = -4;
    if (!ibuf || !dbuf || !bbuf || !snaps)
        goto done;
    cand_t C = {dbuf, ibuf, bbuf};
    int64_t *order = ibuf + nh, *snap_of = order + nh, *to_move = snap_of + nh, *vms = to_move + nv;
    int64_t *placed = vms + nv;
    double *cbuf = dbuf + nh, *snap_hist = cbuf + nv;
    uint8_t *excl_src = bbuf + nh, *excl_tgt = excl_src + nh;

    /* ---- the table after the periodic update (optimize_python + HostTable.__init__) */
    for (int64_t h = 0; h < nh; h++) {
        o->avail[h] = a->cap[h];
        o->max_ram[h] = INT_MIN_D;
        H->peak[h] = a->peak[h];
        o->pnow[h] = spec_power(a->u[h], F->power + a->off[h]);
        snap_of[h] = -1;
        excl_src[h] = 0; /* here: the scheduler's "over-subscribed" flag */
    }
    for (int64_t k = 0; k < nslot; k++) {
        int64_t h = a->s_host[k], v = a->s_vm[k];
        /* the scheduler's available MIPS: sequential subtraction in list order; 0 once over-subscribed */
        if (!excl_src[h] && o->avail[h] >= a->c_slot[k])
            o->avail[h] -= a->c_slot[k];
        else
            excl_src[h] = 1;
        o->sum_c[h] += a->alloc[k];
        o->sum_r[h] += F->r[v];
        if (F->ram[v] > o->max_ram[h])
            o->max_ram[h] = F->ram[v];
        o->nlist[h] += 1;
        /* the host's utilization history (host_history: (u * mips) / host mips, summed in list order) */
        double *row = o->hist + h * S;
        const double *vr = F->hist + v * S;
        double mv = F->mips[v];
        for (int64_t q = 0; q < S; q++)
            row[q] += vr[q] * mv / a->cap[h];
        if (list_push(&o->lists[h], v) < 0)
            goto done;
    }
    for (int64_t t = 0; t < ntypes; t++)
        o->rep[t] = -1;
    /* a. the over-utilized hosts */
    for (int64_t h = 0; h < nh; h++) {
        if (excl_src[h])
            o->avail[h] = 0.0;
        o->hlen[h] = trim_len(o->hist + h * S, S);
        if (F->mode == MODE_LR)
            set_ab(o, h);
        int ov = over_now(F, H, h);
        if (ov < 0) {
            result = PABFD_PYTHON;
            goto done;
        }
        a->over[h] = (uint8_t)ov;
    }
    for (int64_t h = 0; h < nh; h++) {
        o->pristine[h] = o->nlist[h] == 0 && a->u[h] == 0 && !a->over[h];
        if (o->pristine[h] && o->rep[o->type[h]] < 0)
            o->rep[o->type[h]] = h;
        if (!o->pristine[h] || o->rep[o->type[h]] == h)
            o->scan[H->nscan++] = h;
    }

    /* ---- b. MMT or MU on each over-utilized host, lowest id first */
    int64_t n_move = 0;
    for (int64_t h = 0; h < nh; h++) {
        if (!a->over[h])
            continue;
        list_t *l = &o->lists[h];
        while (l->n) {
            int64_t p = select_one(F, l, a->sel);
            int64_t v = l->v[p];
            memmove(l->v + p, l->v + p + 1, (size_t)(l->n - p - 1) * sizeof(int64_t));
            l->n -= 1;
            o->nlist[h] -= 1;
            to_move[n_move++] = v;
            rebuild_o(o, h, cbuf);
            int ov = over_now(F, H, h);
            if (ov < 0) {
                result = PABFD_PYTHON;
                goto done;
            }
            if (!ov)
                break;
        }
    }
    /* ---- c. PABFD, largest demand first (stable), over-utilized hosts excluded */
    sort_by_r_desc(to_move, n_move, F->r);
    int64_t n_mig = 0;
    for (int64_t k = 0; k < n_move; k++) {
        int64_t v = to_move[k];
        int64_t h = pabfd(F, H, v, a->over, &C);
        if (h == PABFD_PYTHON || (h >= 0 && n_mig >= max_mig)) {
            result = PABFD_PYTHON;
            goto done;
        }
        if (h >= 0) {
            if (create_o(o, h, v) < 0)
                goto done;
            a->out[2 * n_mig] = v;
            a->out[2 * n_mig + 1] = h;
            n_mig++;
        }
    }
    /* ---- d. under-utilized hosts, least utilized first (ties: lowest id): all VMs or none */
    int64_t n_excl = 0, n_order = 0;
    for (int64_t h = 0; h < nh; h++) {
        excl_src[h] = a->over[h] || a->u[h] == 0;
        excl_tgt[h] = excl_src[h];
        n_excl += excl_src[h];
        if (!excl_src[h] && a->u[h] < 1)
            order[n_order++] = h;
    }
    sort_u = a->u;
    qsort(order, (size_t)n_order, sizeof(int64_t), cmp_by_u_then_id);
    for (int64_t q = 0; q < n_order; q++) {
        int64_t h = order[q];
        if (excl_src[h])
            continue;
        if (n_excl == nh)
            break;
        if (!o->lists[h].n)
            continue;
        excl_src[h] = 1;
        excl_tgt[h] = 1;
        n_excl++;
        int64_t nvms = o->lists[h].n;
        memcpy(vms, o->lists[h].v, (size_t)nvms * sizeof(int64_t));
        sort_by_r_desc(vms, nvms, F->r);
        int64_t n_placed = 0, n_snaps = 0;
        int failed = 0;
        for (int64_t k = 0; k < nvms; k++) {
            int64_t v = vms[k];
            int64_t j = pabfd(F, H, v, excl_tgt, &C);
            if (j == PABFD_PYTHON) {
                result = PABFD_PYTHON;
                goto done;
            }
            if (j < 0) {
                failed = 1;
                break;
            }
            if (snap_of[j] < 0) {
                snaps[n_snaps].hist = snap_hist + n_snaps * S;
                if (snap_save(o, &snaps[n_snaps], j) < 0)
                    goto done;
                snap_of[j] = n_snaps++;
            }
            if (create_o(o, j, v) < 0)
                goto done;
            placed[2 * n_placed] = v;
            placed[2 * n_placed + 1] = j;
            n_placed++;
        }
        if (failed) {
            for (int64_t s2 = 0; s2 < n_snaps; s2++)
                snap_restore(o, &snaps[s2]);
        } else {
            for (int64_t k = 0; k < n_placed; k++) {
                int64_t t = placed[2 * k + 1];
                if (!excl_src[t]) {
                    excl_src[t] = 1;
                    n_excl++;
                }
                if (n_mig >= max_mig) {
                    result = PABFD_PYTHON; /* the caller's buffer is too small: the Python path decides */
                    goto done;
                }
                a->out[2 * n_mig] = placed[2 * k];
                a->out[2 * n_mig + 1] = t;
                n_mig++;
            }
        }
        for (int64_t s2 = 0; s2 < n_snaps; s2++)
            snap_of[snaps[s2].h] = -1;
    }
    /* ---- close: the scheduler maps' peak sizes outlive the optimization */
    for (int64_t h = 0; h < nh; h++)
        if (H->peak[h] > a->peak[h])
            a->peak[h] = H->peak[h];
    result = n_mig;

done:
    if (snaps)
        for (int64_t h = 0; h <= nh; h++)
            PyMem_Free(snaps[h].vms);
    PyMem_Free(snaps);
    PyMem_Free(ibuf);
    PyMem_Free(dbuf);
    PyMem_Free(bbuf);
    return result;
}

PyObject *kumo_optimize(PyObject *self, PyObject *args)
{
    static const char *entry = "optimize";
    facts_t F;
    opt_args_t a;
    opt_t o;
    views_t vw;
    memset(&F, 0, sizeof(F));
    memset(&a, 0, sizeof(a));
    memset(&o, 0, sizeof(o));
    views_init(&vw);
    PyObject *res = NULL;
    if (check_count(args, 1 + OPT_NARGS, entry) < 0)
        return NULL;
    if (args_fill(PyTuple_GET_ITEM(args, 0), 0, entry, FACTS_ARGS, FACTS_NARGS, &F, &vw) < 0 ||
        args_fill(args, 1, entry, OPT_ARGS, OPT_NARGS, &a, &vw) < 0)
        goto out;
    F.nv = vw.size['V'];
    F.stride = vw.size['S'];
    F.w = vw.size['W'] < 0 ? 0 : vw.size['W'];
    F.npower = vw.size['P'];
    const int64_t nh = vw.size['H'], nslot = vw.size['N'], max_mig = vw.size['M'];
    if (facts_check(&F, entry) < 0 || check_range(a.off, nh, 0, F.npower - POWER_POINTS, entry, "off") < 0 ||
        check_range(a.type, nh, 0, nh, entry, "type") < 0 || check_range(a.s_vm, nslot, 0, F.nv - 1, entry, "s_vm") < 0 ||
        check_range(a.s_host, nslot, 0, nh - 1, entry, "s_host") < 0)
        goto out;
    if (a.sel < 0 || a.sel > 2) {
        PyErr_Format(PyExc_ValueError, "%s: sel must be 0 (MMT), 1 or 2 (MU), got %lld", entry, (long long)a.sel);
        goto out;
    }
    int64_t ntypes = 0;
    for (int64_t h = 0; h < nh; h++) {
        if (a.type[h] + 1 > ntypes)
            ntypes = a.type[h] + 1;
        if (!power_in_table(a.u[h], a.off[h], F.npower)) {
            res = PyLong_FromLong(PABFD_PYTHON); /* a utilization beyond the table: the Python path decides */
            goto out;
        }
    }
    o.F = &F;
    o.nh = nh;
    o.type = a.type;
    /* the hosts: doubles avail sum_c sum_r pnow A B hz max_ram (8 nh) + hist (nh S); int64 host nlist peak
     * hlen scan (5 nh) + rep (ntypes) */
    double *d = (double *)PyMem_Calloc((size_t)(8 * nh + nh * F.stride + 1), sizeof(double));
    int64_t *iv = (int64_t *)PyMem_Calloc((size_t)(5 * nh + ntypes + 1), sizeof(int64_t));
    o.pristine = (uint8_t *)PyMem_Calloc((size_t)nh + 1, 1);
    o.lists = (list_t *)PyMem_Calloc((size_t)nh + 1, sizeof(list_t));
    if (!d || !iv || !o.pristine || !o.lists) {
        PyErr_NoMemory();
        PyMem_Free(d);
        PyMem_Free(iv);
        goto free_out;
    }
    o.avail = d;
    o.sum_c = d + nh;
    o.sum_r = d + 2 * nh;
    o.pnow = d + 3 * nh;
    o.A = d + 4 * nh;
    o.B = d + 5 * nh;
    o.hz = d + 6 * nh;
    o.max_ram = d + 7 * nh;
    o.hist = d + 8 * nh;
    int64_t *host = iv;
    o.nlist = iv + nh;
    int64_t *peak = iv + 2 * nh;
    o.hlen = iv + 3 * nh;
    o.scan = iv + 4 * nh;
    o.rep = iv + 5 * nh;
    for (int64_t h = 0; h < nh; h++)
        host[h] = h;
    hosts_t H = {host, o.avail, a.pe, o.sum_c, o.sum_r, a.cap, o.pnow, a.off, o.nlist, peak, o.hlen, o.hist,
                 o.A, o.B, o.hz, nh, nh, o.scan, 0, nh};
    o.H = H;
    long long n = run_optimize(&o, &a, nslot, ntypes, max_mig);
    if (n == -4)
        PyErr_NoMemory();
    else
        res = PyLong_FromLongLong(n);
    PyMem_Free(d);
    PyMem_Free(iv);
free_out:
    if (o.lists)
        for (int64_t h = 0; h < nh; h++)
            PyMem_Free(o.lists[h].v);
    PyMem_Free(o.lists);
    PyMem_Free(o.pristine);
out:
    views_release(&vw);
    return res;
}
