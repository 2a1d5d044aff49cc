/* The timeline's hot paths (kumo/studies/cloudsim/_timeline.py, _placement.py, _accounting.py): the initial
 * placement, the allocation part of every host update, P(u) per host, and the state-history entries. */
#include "_kernel.h"

/* ============================================================================================================
 * initial_place(vm_mips, vm_ram, vm_bw, pe, cap, host_ram, host_bw, power, off, peak, vm_host, kind, limit):
 * _placement.initial_placement at t = 0, for the broker's VMs in id order. kind 1: PABFD (the one pabfd())
 * with every host at P(0) and RAM and bandwidth as extra constraints; the detector's test on a target reduces
 * to THR with threshold `limit` on the new VM's MIPS alone (the VMs placed so far request nothing until 0.1 s,
 * and every host's history is the single value 0, so LR/LRR/IQR/MAD use their short-history threshold).
 * kind 0: first fit. Fills vm_host; grows peak as CloudSim's tentative creations do. Returns the first VM
 * without a host, or -1.
 * ========================================================================================================== */
typedef struct {
    const double *vm_mips, *vm_ram, *vm_bw, *pe, *cap, *host_ram, *host_bw, *power;
    const int64_t *off;
    int64_t *peak, *vm_host;
    int64_t kind;
    double limit;
} place_args_t;

static const arg_t PLACE_ARGS[] = {
    {"vm_mips", A_F64, 'V', 0, A_REQUIRED, offsetof(place_args_t, vm_mips)},
    {"vm_ram", A_F64, 'V', 0, A_REQUIRED, offsetof(place_args_t, vm_ram)},
    {"vm_bw", A_F64, 'V', 0, A_REQUIRED, offsetof(place_args_t, vm_bw)},
    {"pe", A_F64, 'H', 0, A_REQUIRED, offsetof(place_args_t, pe)},
    {"cap", A_F64, 'H', 0, A_REQUIRED, offsetof(place_args_t, cap)},
    {"host_ram", A_F64, 'H', 0, A_REQUIRED, offsetof(place_args_t, host_ram)},
    {"host_bw", A_F64, 'H', 0, A_REQUIRED, offsetof(place_args_t, host_bw)},
    {"power", A_F64, 'P', 0, A_REQUIRED, offsetof(place_args_t, power)},
    {"off", A_I64, 'H', 0, A_REQUIRED, offsetof(place_args_t, off)},
    {"peak", A_I64, 'H', 0, A_WRITE, offsetof(place_args_t, peak)},
    {"vm_host", A_I64, 'V', 0, A_WRITE, offsetof(place_args_t, vm_host)},
    {"kind", A_INT, 0, 0, A_REQUIRED, offsetof(place_args_t, kind)},
    {"limit", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(place_args_t, limit)},
};

PyObject *kumo_initial_place(PyObject *self, PyObject *args)
{
    static const char *entry = "initial_place";
    const Py_ssize_t nargs = (Py_ssize_t)(sizeof(PLACE_ARGS) / sizeof(PLACE_ARGS[0]));
    place_args_t a;
    views_t vw;
    views_init(&vw);
    PyObject *res = NULL;
    if (check_count(args, nargs, entry) < 0 || args_fill(args, 0, entry, PLACE_ARGS, nargs, &a, &vw) < 0)
        goto out;
    const int64_t nh = vw.size['H'], nv = vw.size['V'], npower = vw.size['P'];
    if (npower < POWER_POINTS || check_range(a.off, nh, 0, npower - POWER_POINTS, entry, "off") < 0)
        goto fail_power;
    /* the hosts: doubles avail ram bw sum_c zeros pnow (6 nh); int64 host nlist cand (3 nh); uint8 excluded
     * cand state (2 nh); a candidate score per host */
    double *d = (double *)PyMem_Calloc((size_t)(7 * nh + 1), sizeof(double));
    int64_t *iv = (int64_t *)PyMem_Calloc((size_t)(3 * nh + 1), sizeof(int64_t));
    uint8_t *ex = (uint8_t *)PyMem_Calloc((size_t)(2 * nh + 1), 1);
    if (!d || !iv || !ex) {
        PyErr_NoMemory();
        goto free_out;
    }
    double *avail = d, *ram = d + nh, *bw = d + 2 * nh, *sum_c = d + 3 * nh, *zeros = d + 4 * nh;
    double *pnow = d + 5 * nh;
    int64_t *host = iv, *nlist = iv + nh;
    cand_t C = {d + 6 * nh, iv + 2 * nh, ex + nh};
    double pe_min = INFINITY;
    for (int64_t h = 0; h < nh; h++) {
        avail[h] = a.cap[h];
        ram[h] = a.host_ram[h];
        bw[h] = a.host_bw[h];
        pnow[h] = a.power[a.off[h]];
        host[h] = h;
        if (a.pe[h] < pe_min)
            pe_min = a.pe[h];
    }
    facts_t F;
    memset(&F, 0, sizeof(F));
    F.power = a.power;
    F.r = a.vm_mips; /* at t = 0 PABFD places a VM by its booked MIPS */
    F.mips = a.vm_mips;
    F.ram = a.vm_ram;
    F.mode = MODE_THR;
    F.thr = a.limit;
    F.pe_min = pe_min;
    F.nv = nv;
    F.npower = npower;
    hosts_t H = {host, avail, a.pe, sum_c, zeros, a.cap, pnow, a.off, nlist, a.peak, NULL, NULL, NULL, NULL, NULL,
                 nh, nh, NULL, 0, nh};
    long long missing = -1;
    for (int64_t v = 0; v < nv; v++) {
        double m = a.vm_mips[v];
        int64_t best = -1;
        if (a.kind == 0) {
            for (int64_t h = 0; h < nh && best < 0; h++)
                if (a.pe[h] >= m && avail[h] >= m && ram[h] >= a.vm_ram[v] && bw[h] >= a.vm_bw[v])
                    best = h;
        } else {
            for (int64_t h = 0; h < nh; h++)
                ex[h] = !(ram[h] >= a.vm_ram[v] && bw[h] >= a.vm_bw[v]);
            best = pabfd(&F, &H, v, ex, &C); /* THR never hands a decision back */
        }
        if (best < 0) {
            missing = v;
            break;
        }
        avail[best] -= m;
        ram[best] -= a.vm_ram[v];
        bw[best] -= a.vm_bw[v];
        sum_c[best] += m;
        nlist[best] += 1;
        if (nlist[best] > a.peak[best])
            a.peak[best] = nlist[best];
        a.vm_host[v] = best;
    }
    res = PyLong_FromLongLong(missing);
free_out:
    PyMem_Free(d);
    PyMem_Free(iv);
    PyMem_Free(ex);
out:
    views_release(&vw);
    return res;
fail_power:
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "%s: power must hold %d watts per host type", entry, POWER_POINTS);
    views_release(&vw);
    return NULL;
}

/* ============================================================================================================
 * host_update(rs, s_host, s_role, slot_hash, pe, cap, peak, c, alloc, U, R, grow_peak): the allocation part of
 * every host's updateVmsProcessing (CloudSimRun._update_python): per slot (host-major, list order) the capped
 * request c, the allocation; per host the requested total, the exact over-subscription test, the proportional
 * floor() shares in HashMap order, U (allocated, migrating-out VMs counted at full share) and R (requested).
 * role: 0 = migrating out (90 %), 1 = normal, 2 = migrating in (10 %). grow_peak: also raise peak to each
 * host's slot count (the slots changed since the last update). False (nothing usable) if a host has more
 * than 4096 slots.
 * ========================================================================================================== */
typedef struct {
    const double *rs, *pe, *cap;
    const int64_t *host, *role, *hash;
    int64_t *peak;
    double *c, *alloc, *U, *R;
    int64_t grow_peak;
} update_args_t;

static const arg_t UPDATE_ARGS[] = {
    {"rs", A_F64, 'N', 0, A_REQUIRED, offsetof(update_args_t, rs)},
    {"s_host", A_I64, 'N', 0, A_REQUIRED, offsetof(update_args_t, host)},
    {"s_role", A_I64, 'N', 0, A_REQUIRED, offsetof(update_args_t, role)},
    {"slot_hash", A_I64, 'N', 0, A_REQUIRED, offsetof(update_args_t, hash)},
    {"pe", A_F64, 'H', 0, A_REQUIRED, offsetof(update_args_t, pe)},
    {"cap", A_F64, 'H', 0, A_REQUIRED, offsetof(update_args_t, cap)},
    {"peak", A_I64, 'H', 0, A_WRITE, offsetof(update_args_t, peak)},
    {"c", A_F64, 'N', 0, A_WRITE, offsetof(update_args_t, c)},
    {"alloc", A_F64, 'N', 0, A_WRITE, offsetof(update_args_t, alloc)},
    {"U", A_F64, 'H', 0, A_WRITE, offsetof(update_args_t, U)},
    {"R", A_F64, 'H', 0, A_WRITE, offsetof(update_args_t, R)},
    {"grow_peak", A_INT, 0, 0, A_REQUIRED, offsetof(update_args_t, grow_peak)},
};

PyObject *kumo_host_update(PyObject *self, PyObject *args)
{
    static const char *entry = "host_update";
    const Py_ssize_t nargs = (Py_ssize_t)(sizeof(UPDATE_ARGS) / sizeof(UPDATE_ARGS[0]));
    update_args_t a;
    views_t vw;
    views_init(&vw);
    if (check_count(args, nargs, entry) < 0 || args_fill(args, 0, entry, UPDATE_ARGS, nargs, &a, &vw) < 0) {
        views_release(&vw);
        return NULL;
    }
    const int64_t n = vw.size['N'], nh = vw.size['H'];
    if (check_range(a.host, n, 0, nh - 1, entry, "s_host") < 0 || check_range(a.role, n, 0, 2, entry, "s_role") < 0) {
        views_release(&vw);
        return NULL;
    }
    const double *rs = a.rs, *pe = a.pe, *cap = a.cap;
    const int64_t *host = a.host, *role = a.role, *hash = a.hash;
    double *c = a.c, *alloc = a.alloc;
    int ok = 1;
    int64_t idx[4096];
    for (int64_t h = 0; h < nh; h++) {
        a.U[h] = 0.0;
        a.R[h] = 0.0;
    }
    int64_t s = 0;
    while (s < n) {
        int64_t h = host[s];
        int64_t e = s;
        while (e < n && host[e] == h)
            e++;
        double totq = 0.0;
        for (int64_t k = s; k < e; k++) {
            double x = rs[k] <= pe[h] ? rs[k] : pe[h];
            c[k] = x;
            double q = role[k] == 2 ? x * 0.1 : x;
            alloc[k] = role[k] == 0 ? x * 0.9 : q;
            totq += q;
        }
        if (a.grow_peak && e - s > a.peak[h])
            a.peak[h] = e - s;
        int over = totq > cap[h];
        if (fabs(totq - cap[h]) <= 1e-9 * cap[h]) {
            /* too close to call: the scheduler's sequential "available >= request" test */
            double av = cap[h];
            over = 0;
            for (int64_t k = s; k < e; k++) {
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
            int64_t cnt = e - s;
            if (cnt > 4096) {
                ok = 0;
                break;
            }
            int64_t size = 16;
            while ((double)a.peak[h] > 0.75 * (double)size)
                size *= 2;
            for (int64_t j = 0; j < cnt; j++) {
                int64_t key = s + j;
                int64_t bk = hash[key] & (size - 1);
                int64_t m = j - 1;
                while (m >= 0 && (hash[idx[m]] & (size - 1)) > bk) {
                    idx[m + 1] = idx[m];
                    m--;
                }
                idx[m + 1] = key;
            }
            double tot = 0.0;
            for (int64_t j = 0; j < cnt; j++) {
                int64_t k = idx[j];
                tot += role[k] == 2 ? c[k] * 0.1 : c[k];
            }
            double scale = cap[h] / tot;
            for (int64_t k = s; k < e; k++) {
                if (role[k] == 0)
                    alloc[k] = floor(c[k] * scale * 0.9);
                else if (role[k] == 2)
                    alloc[k] = floor(c[k] * 0.1 * scale);
                else
                    alloc[k] = floor(c[k] * scale);
            }
        }
        double u = 0.0, r = 0.0;
        for (int64_t k = s; k < e; k++) {
            u += role[k] == 0 ? alloc[k] / 0.9 : alloc[k];
            r += rs[k];
        }
        a.U[h] = u;
        a.R[h] = r;
        s = e;
    }
    views_release(&vw);
    if (!ok)
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

/* spec_power_vec(u, off, power, out) -> True: CloudSim's P(u) for every host (_model.spec_power_flat); False
 * (out untouched) where a utilization would read outside the table (the Python path decides) */
typedef struct {
    const double *u, *power;
    const int64_t *off;
    double *out;
} power_args_t;

static const arg_t POWER_ARGS[] = {
    {"u", A_F64, 'N', 0, A_REQUIRED, offsetof(power_args_t, u)},
    {"off", A_I64, 'N', 0, A_REQUIRED, offsetof(power_args_t, off)},
    {"power", A_F64, 'P', 0, A_REQUIRED, offsetof(power_args_t, power)},
    {"out", A_F64, 'N', 0, A_WRITE, offsetof(power_args_t, out)},
};

/* P(u) on the table at off reads entries floor(10 u) .. ceil(10 u) past off: all inside the npower values? */
int power_in_table(double u, int64_t off, int64_t npower)
{
    return u >= 0 && off >= 0 && ceil(u * 10) + (double)off <= (double)(npower - 1);
}

PyObject *kumo_spec_power_vec(PyObject *self, PyObject *args)
{
    static const char *entry = "spec_power_vec";
    power_args_t a;
    views_t vw;
    views_init(&vw);
    if (check_count(args, 4, entry) < 0 || args_fill(args, 0, entry, POWER_ARGS, 4, &a, &vw) < 0) {
        views_release(&vw);
        return NULL;
    }
    const int64_t n = vw.size['N'], npower = vw.size['P'];
    for (int64_t i = 0; i < n; i++)
        if (!power_in_table(a.u[i], a.off[i], npower)) {
            views_release(&vw);
            Py_RETURN_FALSE;
        }
    for (int64_t i = 0; i < n; i++)
        a.out[i] = spec_power(a.u[i], a.power + a.off[i]);
    views_release(&vw);
    Py_RETURN_TRUE;
}
