/* State histories (kumo/studies/cloudsim/_accounting.py Histories): the host and VM entries of one instant,
 * finishing the pending entries of an earlier instant. Rows are appended to the caller's logs at n_act,
 * n_down, n_ratio, n_migt (the caller reserves room for one row per host or VM); returns the new counts. */
#include "_kernel.h"

typedef struct {
    double t;
    const double *U, *R;
    double *h_t, *h_alloc, *h_req, *on_since, *act_dt, *viol_dt, *down_val;
    uint8_t *was;
    int64_t *act_host, *down_host;
    int64_t n_act, n_down;
} hosts_hist_t;

static const arg_t HOSTS_HIST_ARGS[] = {
    {"t", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(hosts_hist_t, t)},
    {"U", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_hist_t, U)},
    {"R", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_hist_t, R)},
    {"h_t", A_F64, 'H', 0, A_WRITE, offsetof(hosts_hist_t, h_t)},
    {"h_alloc", A_F64, 'H', 0, A_WRITE, offsetof(hosts_hist_t, h_alloc)},
    {"h_req", A_F64, 'H', 0, A_WRITE, offsetof(hosts_hist_t, h_req)},
    {"was_active", A_U8, 'H', 0, A_WRITE, offsetof(hosts_hist_t, was)},
    {"on_since", A_F64, 'H', 0, A_WRITE, offsetof(hosts_hist_t, on_since)},
    {"act_host", A_I64, 'A', 0, A_WRITE, offsetof(hosts_hist_t, act_host)},
    {"act_dt", A_F64, 'A', 0, A_WRITE, offsetof(hosts_hist_t, act_dt)},
    {"viol_dt", A_F64, 'A', 0, A_WRITE, offsetof(hosts_hist_t, viol_dt)},
    {"n_act", A_INT, 0, 0, A_REQUIRED, offsetof(hosts_hist_t, n_act)},
    {"down_host", A_I64, 'D', 0, A_WRITE, offsetof(hosts_hist_t, down_host)},
    {"down_val", A_F64, 'D', 0, A_WRITE, offsetof(hosts_hist_t, down_val)},
    {"n_down", A_INT, 0, 0, A_REQUIRED, offsetof(hosts_hist_t, n_down)},
};

/* the log at n with `rows` more rows fits its length? (ValueError otherwise) */
static int room_ok(int64_t n, int64_t rows, int64_t len, const char *entry, const char *name)
{
    if (n >= 0 && n + rows <= len)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s: %s holds %lld rows, %lld + %lld needed", entry, name, (long long)len,
                 (long long)n, (long long)rows);
    return -1;
}

/* hist_hosts(t, U, R, h_t, h_alloc, h_req, was_active, on_since, act_host, act_dt, viol_dt, n_act, down_host,
 * down_val, n_down) -> (n_act, n_down): every host gets the entry (t, U, R) */
PyObject *kumo_hist_hosts(PyObject *self, PyObject *args)
{
    static const char *entry = "hist_hosts";
    const Py_ssize_t nargs = (Py_ssize_t)(sizeof(HOSTS_HIST_ARGS) / sizeof(HOSTS_HIST_ARGS[0]));
    hosts_hist_t a;
    views_t vw;
    views_init(&vw);
    if (check_count(args, nargs, entry) < 0 || args_fill(args, 0, entry, HOSTS_HIST_ARGS, nargs, &a, &vw) < 0 ||
        room_ok(a.n_act, vw.size['H'], vw.size['A'], entry, "act_host") < 0 ||
        room_ok(a.n_down, vw.size['H'], vw.size['D'], entry, "down_host") < 0) {
        views_release(&vw);
        return NULL;
    }
    const double t = a.t;
    const int64_t nh = vw.size['H'];
    int64_t n_act = a.n_act, n_down = a.n_down;
    for (int64_t h = 0; h < nh; h++) {
        double pt = a.h_t[h];
        if (pt >= 0 && pt != t) {
            double al = a.h_alloc[h];
            int active = al > 0;
            if (active) {
                double dt = t - pt;
                a.act_host[n_act] = h;
                a.act_dt[n_act] = dt;
                a.viol_dt[n_act] = al < a.h_req[h] ? dt : 0.0;
                n_act++;
            }
            if (a.was[h] && !active) {
                a.down_host[n_down] = h;
                a.down_val[n_down] = pt - a.on_since[h];
                n_down++;
            }
            if (!a.was[h] && active)
                a.on_since[h] = pt;
            a.was[h] = (uint8_t)active;
        }
        a.h_t[h] = t;
        a.h_alloc[h] = a.U[h];
        a.h_req[h] = a.R[h];
    }
    views_release(&vw);
    return Py_BuildValue("LL", (long long)n_act, (long long)n_down);
}

typedef struct {
    double t;
    const int64_t *vms;
    const double *alloc, *req;
    const uint8_t *mig;
    double *v_t, *v_alloc, *v_req, *mig_since, *tot_alloc, *tot_req, *under, *ratio, *migt_val;
    uint8_t *v_mig, *was;
    int64_t *ratio_vm, *migt_vm;
    int64_t n_ratio, n_migt;
} vms_hist_t;

static const arg_t VMS_HIST_ARGS[] = {
    {"t", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(vms_hist_t, t)},
    {"vms", A_I64, 'K', 0, A_REQUIRED, offsetof(vms_hist_t, vms)},
    {"alloc", A_F64, 'K', 0, A_REQUIRED, offsetof(vms_hist_t, alloc)},
    {"req", A_F64, 'K', 0, A_REQUIRED, offsetof(vms_hist_t, req)},
    {"mig", A_U8, 'K', 0, A_REQUIRED, offsetof(vms_hist_t, mig)},
    {"v_t", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, v_t)},
    {"v_alloc", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, v_alloc)},
    {"v_req", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, v_req)},
    {"v_mig", A_U8, 'V', 0, A_WRITE, offsetof(vms_hist_t, v_mig)},
    {"was_mig", A_U8, 'V', 0, A_WRITE, offsetof(vms_hist_t, was)},
    {"mig_since", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, mig_since)},
    {"tot_alloc", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, tot_alloc)},
    {"tot_req", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, tot_req)},
    {"under_mig", A_F64, 'V', 0, A_WRITE, offsetof(vms_hist_t, under)},
    {"ratio_vm", A_I64, 'R', 0, A_WRITE, offsetof(vms_hist_t, ratio_vm)},
    {"ratio", A_F64, 'R', 0, A_WRITE, offsetof(vms_hist_t, ratio)},
    {"n_ratio", A_INT, 0, 0, A_REQUIRED, offsetof(vms_hist_t, n_ratio)},
    {"migt_vm", A_I64, 'T', 0, A_WRITE, offsetof(vms_hist_t, migt_vm)},
    {"migt_val", A_F64, 'T', 0, A_WRITE, offsetof(vms_hist_t, migt_val)},
    {"n_migt", A_INT, 0, 0, A_REQUIRED, offsetof(vms_hist_t, n_migt)},
};

/* hist_vms(t, vms, alloc, req, mig, v_t, v_alloc, v_req, v_mig, was_mig, mig_since, tot_alloc, tot_req,
 *          under_mig, ratio_vm, ratio, n_ratio, migt_vm, migt_val, n_migt) -> (n_ratio, n_migt) */
PyObject *kumo_hist_vms(PyObject *self, PyObject *args)
{
    static const char *entry = "hist_vms";
    const Py_ssize_t nargs = (Py_ssize_t)(sizeof(VMS_HIST_ARGS) / sizeof(VMS_HIST_ARGS[0]));
    vms_hist_t a;
    views_t vw;
    views_init(&vw);
    if (check_count(args, nargs, entry) < 0 || args_fill(args, 0, entry, VMS_HIST_ARGS, nargs, &a, &vw) < 0 ||
        check_range(a.vms, vw.size['K'], 0, vw.size['V'] - 1, entry, "vms") < 0 ||
        room_ok(a.n_ratio, vw.size['K'], vw.size['R'], entry, "ratio_vm") < 0 ||
        room_ok(a.n_migt, vw.size['K'], vw.size['T'], entry, "migt_vm") < 0) {
        views_release(&vw);
        return NULL;
    }
    const double t = a.t;
    const int64_t n = vw.size['K'];
    int64_t n_ratio = a.n_ratio, n_migt = a.n_migt;
    for (int64_t k = 0; k < n; k++) {
        int64_t v = a.vms[k];
        double pt = a.v_t[v];
        if (pt >= 0 && pt != t) {
            double al = a.v_alloc[v], r = a.v_req[v];
            int m = a.v_mig[v] != 0;
            double dt = t - pt;
            a.tot_alloc[v] += al * dt;
            a.tot_req[v] += r * dt;
            if (al < r) {
                a.ratio_vm[n_ratio] = v;
                a.ratio[n_ratio] = (r - al) / r;
                n_ratio++;
                if (m)
                    a.under[v] += (r - al) * dt;
            }
            if (a.was[v] && !m) {
                a.migt_vm[n_migt] = v;
                a.migt_val[n_migt] = pt - a.mig_since[v];
                n_migt++;
            }
            if (!a.was[v] && m)
                a.mig_since[v] = pt;
            a.was[v] = (uint8_t)m;
        }
        a.v_t[v] = t;
        a.v_alloc[v] = a.alloc[k];
        a.v_req[v] = a.req[k];
        a.v_mig[v] = a.mig[k] != 0;
    }
    views_release(&vw);
    return Py_BuildValue("LL", (long long)n_ratio, (long long)n_migt);
}
