#include "_kernel.h"

/* ============================================================================================================
 * initial_place(...): CloudSimRun._initial_placement at t = 0 (kumo/studies/cloudsim/_timeline.py), for the broker's VMs
 * in id order. kind 1: PABFD with the detector's test on a target reduced to "m / capacity > limit" (every
 * host's history is the single value 0, so LR/LRR/IQR/MAD use their short-history threshold and THR its own);
 * kind 0: first fit. Fills vm_host; grows peak as CloudSim's tentative creations do. Returns the first VM
 * without a host, or -1.
 * ========================================================================================================== */
PyObject *kumo_initial_place(PyObject *self, PyObject *args)
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

/* ============================================================================================================
 * host_update(...): the allocation part of every host's updateVmsProcessing (CloudSimRun._update): per slot
 * (host-major, list order) the capped request c, the allocation; per host the requested total, the exact
 * over-subscription test, the proportional floor() shares in HashMap order, U (allocated, migrating-out VMs
 * counted at full share) and R (requested). role: 0 = migrating out (90 %), 1 = normal, 2 = migrating in (10 %).
 * grow_peak: also raise peak to each host's slot count (the slots changed since the last update).
 * ========================================================================================================== */
PyObject *kumo_host_update(PyObject *self, PyObject *args)
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


/* spec_power_vec(u, off, power, out): CloudSim's P(u) for every host (kumo.studies.cloudsim._model.spec_power_flat) */
PyObject *kumo_spec_power_vec(PyObject *self, PyObject *args)
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
 * State histories (kumo/studies/cloudsim/_accounting.py Histories): the host and VM entries of one instant, finishing
 * the pending entries of an earlier instant. Rows are appended to the caller's logs (capacity reserved by
 * the caller); returns the new row counts.
 * ========================================================================================================== */

/* hist_hosts(t, U, R, h_t, h_alloc, h_req, was_active, on_since, act_host, act_dt, viol_dt, n_act,
 *            down_host, down_val, n_down) -> (n_act, n_down): every host gets the entry (t, U, R) */
PyObject *kumo_hist_hosts(PyObject *self, PyObject *args)
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
PyObject *kumo_hist_vms(PyObject *self, PyObject *args)
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

