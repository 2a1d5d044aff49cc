/* PABFD's findHostForVm and the detectors, on the one host layout (hosts_t) every C path uses: the Python
 * HostTable's decisions (the Table type), the whole optimizeAllocation (_kernel_optimize.c) and the initial
 * placement (_kernel_timeline.c). The Python version, kumo/studies/cloudsim/_pabfd.py, is the same algorithm
 * and the reference: this one hands a decision back (PABFD_PYTHON) whenever it needs the detector's exact
 * scalar code, and only when that decision could change the result.
 *
 * One decision for VM v requesting r = F->r[v]:
 *   suitable(i) = avail[i] >= r && !excluded[host[i]] && (r <= pe_min || pe[i] >= r)
 *   tested(i)   = suitable(i) && sum_c[i] != 0   (CloudSim creates the VM tentatively there: peak may grow)
 *   passes(i)   = !tested(i) || the detector says "not over-utilized after allocation"
 *   result      = the passing host of least P(min(1, (sum_c + r) / cap)) - pnow, ties to the lowest host id
 * Verdicts are cheap for THR and LR (judged in the scan), expensive for IQR/MAD (judged lazily, best-scored
 * first, while they could beat the winner); a regression close call (|prediction - 1| <= KNIFE) or an LRR
 * rejection that CloudSim's robust fit might turn around matters only if that host could beat the winner.
 */
#include "_kernel.h"

const arg_t FACTS_ARGS[] = {
    {"power", A_F64, 'P', 0, A_REQUIRED, offsetof(facts_t, power)},
    {"r", A_F64, 'V', 0, A_REQUIRED, offsetof(facts_t, r)},
    {"vm_mips", A_F64, 'V', 0, A_REQUIRED, offsetof(facts_t, mips)},
    {"vm_ram", A_F64, 'V', 0, A_REQUIRED, offsetof(facts_t, ram)},
    {"vmh", A_F64, 'V', 'S', A_REQUIRED, offsetof(facts_t, hist)},
    {"vm_hlen", A_I64, 'V', 0, A_REQUIRED, offsetof(facts_t, hlen)},
    {"vm_lr", A_F64, 'V', '2', A_OPTIONAL, offsetof(facts_t, lr)},
    {"vm_hz", A_F64, 'V', 0, A_OPTIONAL, offsetof(facts_t, hz)},
    {"vm_res", A_F64, 'V', 'W', A_OPTIONAL, offsetof(facts_t, res)},
    {"alpha", A_F64, 'W', 0, A_OPTIONAL, offsetof(facts_t, alpha)},
    {"beta", A_F64, 'W', 0, A_OPTIONAL, offsetof(facts_t, beta)},
    {"hat", A_F64, 'W', 'W', A_OPTIONAL, offsetof(facts_t, hat)},
    {"mode", A_INT, 0, 0, A_REQUIRED, offsetof(facts_t, mode)},
    {"robust", A_INT, 0, 0, A_REQUIRED, offsetof(facts_t, robust)},
    {"min_len", A_INT, 0, 0, A_REQUIRED, offsetof(facts_t, min_len)},
    {"thr", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, thr)},
    {"safety", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, safety)},
    {"fallback", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, fallback)},
    {"pe_min", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, pe_min)},
    {"mig_rate", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, mig_rate)},
    {"interval", A_DOUBLE, 0, 0, A_REQUIRED, offsetof(facts_t, interval)},
};
const Py_ssize_t FACTS_NARGS = sizeof(FACTS_ARGS) / sizeof(FACTS_ARGS[0]);

int facts_check(const facts_t *F, const char *entry)
{
    if (F->mode < MODE_THR || F->mode > MODE_MAD) {
        PyErr_Format(PyExc_ValueError, "%s: mode must be 1 (THR), 2 (LR), 3 (IQR) or 4 (MAD), got %lld", entry,
                     (long long)F->mode);
        return -1;
    }
    if (F->npower < POWER_POINTS || F->npower % POWER_POINTS) {
        PyErr_Format(PyExc_ValueError, "%s: power must hold %d watts per host type", entry, POWER_POINTS);
        return -1;
    }
    if (F->mode == MODE_LR && (!F->lr || !F->hz || !F->alpha || !F->beta)) {
        PyErr_Format(PyExc_ValueError, "%s: LR needs vm_lr, vm_hz, alpha and beta", entry);
        return -1;
    }
    if (F->robust && (F->mode != MODE_LR || !F->res || !F->hat)) {
        PyErr_Format(PyExc_ValueError, "%s: LRR (robust) needs mode 2, vm_res and hat", entry);
        return -1;
    }
    if (F->alpha && F->w > F->stride) {
        PyErr_Format(PyExc_ValueError, "%s: the regression window (%lld) is longer than the history (%lld)", entry,
                     (long long)F->w, (long long)F->stride);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- IQR / MAD */

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
static int64_t java_round(double x)
{
    double f = floor(x);
    return (int64_t)f + (x - f >= 0.5 ? 1 : 0);
}

/* commons-math Percentile(50), legacy estimator, on n >= 1 sorted values */
static double pct50_sorted(const double *s, int64_t n)
{
    if (n == 1)
        return s[0];
    double pos = 0.5 * (n + 1);
    if (pos >= n)
        return s[n - 1];
    double fpos = floor(pos);
    int64_t i = (int64_t)fpos;
    double dif = pos - fpos;
    double lower = s[i - 1];
    return lower + dif * (s[i] - lower);
}

/* CloudSim MathUtil.iqr / MathUtil.mad of x[0..n) (sorted in place) */
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

/* The IQR/MAD detector on position i, with VM v added (v < 0: as the list stands): 1/0, or -1 when the
 * history does not fit the buffer (the Python path decides). */
static int spread_over(const facts_t *F, const hosts_t *H, int64_t i, int64_t v)
{
    double x[256];
    const double *hist = H->hist + i * F->stride;
    int64_t n = H->hlen[i];
    double util = H->sum_r[i] / H->cap[i];
    if (v >= 0) {
        n = F->hlen[v] > n ? F->hlen[v] : n;
        util = (H->sum_r[i] + F->r[v]) / H->cap[i];
    }
    if (n < F->min_len)
        return util > F->fallback;
    if (n > 256 || n > F->stride || n < 2)
        return -1;
    for (int64_t k = 0; k < n; k++)
        x[k] = v >= 0 ? hist[k] + F->hist[v * F->stride + k] * F->mips[v] / H->cap[i] : hist[k];
    return util > 1 - F->safety * spread(F->mode, x, n);
}

/* ---------------------------------------------------------------------------------------------- LR / LRR */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Can CloudSim's robust LRR fit depart from OLS on position i's window (plus VM v's share when v >= 0)? Only
 * if >= 6 of the 10 OLS residuals are exactly zero: a screen with 1e-9 room (_after.py _maybe_robust). */
static int robust_may_depart(const facts_t *F, const hosts_t *H, int64_t i, int64_t v)
{
    const int64_t w = F->w;
    const double *hw = H->hist + i * F->stride;
    const double f = v >= 0 ? F->mips[v] / H->cap[i] : 0.0;
    double res[64];
    double scale = 0.0;
    if (w > 64)
        return 1;
    for (int64_t j = 0; j < w; j++) {
        double fit = 0.0;
        for (int64_t k = 0; k < w; k++)
            fit += hw[k] * F->hat[k * w + j];
        double x = hw[j] - fit;
        double s = hw[j];
        if (v >= 0) {
            x = x + F->res[v * w + j] * f;
            s = hw[j] + F->hist[v * F->stride + j] * f;
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

/* the screened LR prediction for position i with VM v added (the Python screen's general formula) */
static inline double lr_pred(const facts_t *F, const hosts_t *H, int64_t i, int64_t v)
{
    const double mv = F->mips[v];
    const double h = H->hz[i] > F->hz[v] ? H->hz[i] : F->hz[v];
    return ((H->A[i] + F->lr[2 * v] * mv / H->cap[i]) + (H->B[i] + F->lr[2 * v + 1] * mv / H->cap[i]) * h) * F->safety;
}

/* ---------------------------------------------------------------------------------------------- verdicts */

enum { V_PASS, V_OVER, V_UNSURE, V_ROBUST, V_SPREAD };

/* the after-test on a tested position as far as it is cheap: PASS, OVER, UNSURE (a regression close call),
 * ROBUST (an LRR rejection the robust fit might turn around) or SPREAD (IQR/MAD: judge it lazily) */
static inline int after_quick(const facts_t *F, const hosts_t *H, int64_t i, int64_t v)
{
    if (F->mode == MODE_THR)
        return (H->sum_r[i] + F->r[v]) / H->cap[i] > F->thr ? V_OVER : V_PASS;
    if (F->mode != MODE_LR)
        return V_SPREAD;
    if (F->hlen[v] < F->min_len && H->hlen[i] < F->min_len)
        return (H->sum_r[i] + F->r[v]) / H->cap[i] > F->fallback ? V_OVER : V_PASS;
    double pred = lr_pred(F, H, i, v);
    if (fabs(pred - 1) <= KNIFE)
        return V_UNSURE;
    if (pred >= 1)
        return F->robust ? V_ROBUST : V_OVER;
    return V_PASS;
}

int over_now(const facts_t *F, const hosts_t *H, int64_t i)
{
    if (F->mode == MODE_THR)
        return H->sum_r[i] / H->cap[i] > F->thr;
    if (F->mode != MODE_LR) {
        int r = spread_over(F, H, i, -1);
        return r < 0 ? PABFD_PYTHON : r;
    }
    if (H->hlen[i] < F->min_len)
        return H->sum_r[i] / H->cap[i] > F->fallback;
    double pred = (H->A[i] + H->B[i] * H->hz[i]) * F->safety;
    if (fabs(pred - 1) <= KNIFE)
        return PABFD_PYTHON;
    if (pred >= 1 && F->robust && robust_may_depart(F, H, i, -1))
        return PABFD_PYTHON;
    return pred >= 1;
}

/* (d, h) beats (bd, bh): a lower score, or the same score and a lower host id */
static inline int beats(double d, int64_t h, double bd, int64_t bh)
{
    return d < bd || (d == bd && h < bh);
}

int64_t pabfd(const facts_t *F, hosts_t *H, int64_t v, const uint8_t *excluded, cand_t *C)
{
    const double req = F->r[v];
    const int64_t count = H->scan ? H->nscan : H->n;
    const int64_t max_off = F->npower - POWER_POINTS;
    int64_t best = PABFD_NONE, best_host = 0, k = 0;
    double best_d = INFINITY;
    for (int64_t q = 0; q < count; q++) {
        const int64_t i = H->scan ? H->scan[q] : q;
        const int64_t h = H->host[i];
        if ((uint64_t)h >= (uint64_t)H->nx || H->off[i] < 0 || H->off[i] > max_off)
            return PABFD_BAD_HOST;
        if (!(H->avail[i] >= req) || excluded[h] || (req > F->pe_min && !(H->pe[i] >= req)))
            continue;
        int verdict = V_PASS;
        if (H->sum_c[i] != 0) {
            if (H->nlist[i] >= H->peak[i])
                H->peak[i] = H->nlist[i] + 1;
            verdict = after_quick(F, H, i, v);
            if (verdict == V_OVER)
                continue;
        }
        double ua = (H->sum_c[i] + req) / H->cap[i];
        if (ua > 1.0)
            ua = 1.0;
        if (!(ua >= 0))
            return PABFD_PYTHON; /* NaN or negative: outside the power table */
        double d = spec_power(ua, F->power + H->off[i]) - H->pnow[i];
        if (verdict == V_PASS) {
            if (beats(d, h, best_d, best_host)) {
                best = i;
                best_d = d;
                best_host = h;
            }
        } else {
            C->d[k] = d;
            C->pos[k] = i;
            C->state[k] = (uint8_t)verdict;
            k++;
        }
    }
    /* IQR/MAD: the best-scored pending host that could beat the winner is judged; the first that passes wins */
    for (;;) {
        int64_t b = -1;
        for (int64_t j = 0; j < k; j++) {
            if (C->state[j] != V_SPREAD || !beats(C->d[j], H->host[C->pos[j]], best_d, best_host))
                continue;
            if (b < 0 || beats(C->d[j], H->host[C->pos[j]], C->d[b], H->host[C->pos[b]]))
                b = j;
        }
        if (b < 0)
            break;
        int over = spread_over(F, H, C->pos[b], v);
        if (over < 0)
            return PABFD_PYTHON;
        if (!over) {
            best = C->pos[b];
            best_d = C->d[b];
            best_host = H->host[best];
            break;
        }
        C->state[b] = V_OVER;
    }
    /* a close call that could beat the winner is the exact code's to decide */
    for (int64_t j = 0; j < k; j++) {
        if ((C->state[j] != V_UNSURE && C->state[j] != V_ROBUST) ||
            !beats(C->d[j], H->host[C->pos[j]], best_d, best_host))
            continue;
        if (C->state[j] == V_UNSURE || robust_may_depart(F, H, C->pos[j], v))
            return PABFD_PYTHON;
    }
    return best;
}
