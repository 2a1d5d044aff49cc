/* Shared definitions of kumo's CloudSim-mode kernel (the C extension kumo.studies.cloudsim._kernel).
 *
 * The kernel replaces hot paths of the kumo.studies.cloudsim Python modules with the same IEEE operations in the same
 * order (build without FMA contraction); kumo/studies/cloudsim/_compiled.py is its Python side and lists which Python
 * function each entry point replaces. Files: _kernel.c (the module), _kernel_table.c (PABFD on a Python HostTable),
 * _kernel_optimize.c (a whole optimizeAllocation with MMT), _kernel_timeline.c (placement, host updates,
 * power, state histories).
 */
#ifndef KUMO_KERNEL_H
#define KUMO_KERNEL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kumo/studies/cloudsim/_after.py RegressionAfter._maybe_robust for one host: can CloudSim's robust fit depart from OLS
 * on the host's window plus the VM's share? (>= 6 of the 10 residuals exactly zero; a screen with 1e-9 room) */
static inline void sort_small(double *x, int64_t n)
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
static inline double spread(int64_t mode, double *x, int64_t n)
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
/* Can CloudSim's robust LRR fit depart from OLS on the window hw (w newest values) plus f x a VM's share?
 * Only if >= 6 of the 10 OLS residuals are exactly zero: a screen with 1e-9 room. res_v (the VM's OLS
 * residuals) and vmh (its history) are NULL for the host alone. (kumo/studies/cloudsim/_after.py _maybe_robust) */
static inline int robust_may_depart(const double *hw, const double *hat, int64_t w, const double *res_v,
                                    const double *vmh, double f)
{
    double res[64];
    double scale = 0.0;
    if (w > 64)
        return 1;
    for (int64_t j = 0; j < w; j++) {
        double fit = 0.0;
        for (int64_t k = 0; k < w; k++)
            fit += hw[k] * hat[k * w + j];
        double x = hw[j] - fit;
        double s = hw[j];
        if (res_v) {
            x = x + res_v[j] * f;
            s = hw[j] + vmh[j] * f;
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

/* The IQR/MAD detector (mode) on a host history of n values plus, when vmh is not NULL, a VM's share
 * vmh x mv / cap; util is the utilization it is tested with. 1/0, or -1 if n is too long for the buffer. */
static inline int spread_verdict(int64_t mode, const double *hist, int64_t n, const double *vmh, double mv,
                                 double cap, double util, int64_t min_len, double fallback, double safety)
{
    double x[256];
    if (n < min_len)
        return util > fallback;
    if (n > 256)
        return -1;
    for (int64_t k = 0; k < n; k++)
        x[k] = vmh ? hist[k] + vmh[k] * mv / cap : hist[k];
    return util > 1 - safety * spread(mode, x, n);
}

/* entry points (METH_VARARGS / METH_NOARGS functions of the module) */
PyObject *kumo_pabfd(PyObject *self, PyObject *args);
PyObject *kumo_spread_now(PyObject *self, PyObject *args);
PyObject *kumo_table_words(PyObject *self, PyObject *noargs);
PyObject *kumo_optimize_mmt(PyObject *self, PyObject *args);
PyObject *kumo_opt_words(PyObject *self, PyObject *noargs);
PyObject *kumo_initial_place(PyObject *self, PyObject *args);
PyObject *kumo_host_update(PyObject *self, PyObject *args);
PyObject *kumo_spec_power_vec(PyObject *self, PyObject *args);
PyObject *kumo_hist_hosts(PyObject *self, PyObject *args);
PyObject *kumo_hist_vms(PyObject *self, PyObject *args);

#endif
