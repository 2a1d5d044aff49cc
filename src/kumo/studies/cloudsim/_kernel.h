/* Shared definitions of the CloudSim study's kernel (the C extension kumo.studies.cloudsim._kernel).
 *
 * The kernel replaces hot paths of the study's Python modules with the same IEEE operations in the same order
 * (built without FMA contraction); kumo/studies/cloudsim/_compiled.py is its Python side and
 * docs/studies/cloudsim.md describes the design. Files:
 *   _kernel.c           the module: entry points and the Table type
 *   _kernel_args.c      typed arguments: every entry point fills a C struct from a fixed, ordered tuple
 *   _kernel_pabfd.c     the one PABFD (findHostForVm) and the detectors on the one host layout (hosts_t)
 *   _kernel_optimize.c  a whole optimizeAllocation with MMT or MU selection
 *   _kernel_timeline.c  initial placement, host updates, power
 *   _kernel_history.c   state histories
 */
#ifndef KUMO_KERNEL_H
#define KUMO_KERNEL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_THR = 1, MODE_LR = 2, MODE_IQR = 3, MODE_MAD = 4 };

/* a regression prediction this close to 1 is a close call for the detector's exact code */
#define KNIFE 1e-9
/* watts per host type in the SPECpower table: 0, 10, ..., 100 % */
#define POWER_POINTS 11

/* ---------------------------------------------------------------------------------------------------------
 * Typed arguments (_kernel_args.c). An entry point lists its arguments in an arg_t table, in order; each names
 * a struct member (offsetof), a kind and, for arrays, a shape in symbolic sizes ('H' hosts, 'V' VMs, 'S'
 * history columns, 'W' regression window, 'N' slots, ...; '1'..'9' a literal size; 0 none). The first array
 * of a size fixes it; every later one must agree. Arrays must be C-contiguous with the exact dtype; a
 * mismatch raises TypeError or ValueError naming the argument. Optional arguments may be None (NULL).
 * ------------------------------------------------------------------------------------------------------- */
typedef enum { A_F64, A_I64, A_U8, A_DOUBLE, A_INT } arg_kind_t;
enum { A_REQUIRED = 0, A_OPTIONAL = 1, A_WRITE = 2 };

typedef struct {
    const char *name;
    arg_kind_t kind;
    char rows, cols;
    int flags;
    size_t offset;
} arg_t;

#define MAX_VIEWS 40
typedef struct {
    Py_buffer view[MAX_VIEWS];
    int n;
    Py_ssize_t size[128]; /* symbolic sizes by letter/digit; -1 while unknown */
} views_t;

void views_init(views_t *vw);
void views_release(views_t *vw);
/* fill `out` from items [first, first + count) of `args` per `spec`; 0, or -1 with an exception set */
int args_fill(PyObject *args, Py_ssize_t first, const char *entry, const arg_t *spec, Py_ssize_t count,
              void *out, views_t *vw);
/* 0 if every x[0..n) lies in [lo, hi], else -1 with ValueError naming the argument */
int check_range(const int64_t *x, Py_ssize_t n, int64_t lo, int64_t hi, const char *entry, const char *name);
/* the number of items of `args` must be `count` (TypeError otherwise) */
int check_count(PyObject *args, Py_ssize_t count, const char *entry);

/* ---------------------------------------------------------------------------------------------------------
 * The one layout PABFD and the detectors read (_kernel_pabfd.c).
 * ------------------------------------------------------------------------------------------------------- */

/* What a decision reads about the VMs, the power model and the detector (Python: _compiled.facts_args). */
typedef struct {
    const double *power;   /* (P,) SPECpower tables, POWER_POINTS watts per host type */
    const double *r;       /* (V,) MIPS each VM requests now (the initial placement: its booked MIPS) */
    const double *mips;    /* (V,) booked MIPS */
    const double *ram;     /* (V,) RAM, MB */
    const double *hist;    /* (V, S) utilization history, newest first */
    const int64_t *hlen;   /* (V,) valid history length */
    const double *lr;      /* (V, 2) LR: the VM's OLS intercept and slope terms (NULL otherwise) */
    const double *hz;      /* (V,) LR: the VM's horizon */
    const double *res;     /* (V, W) LRR: the VM's OLS residuals on the window */
    const double *alpha;   /* (W,) LR: OLS intercept weights on a newest-first window */
    const double *beta;    /* (W,) LR: OLS slope weights */
    const double *hat;     /* (W, W) LRR: window -> OLS fitted values */
    int64_t mode;          /* MODE_THR, MODE_LR (LR and LRR), MODE_IQR, MODE_MAD */
    int64_t robust;        /* LRR: CloudSim's robust fit may turn an OLS "over" around */
    int64_t min_len;       /* a history shorter than this: the fallback threshold decides */
    double thr, safety, fallback;
    double pe_min;         /* the park's smallest PE: a VM no larger fits every PE */
    double mig_rate;       /* MB/s of a migration (LR's horizon) */
    double interval;       /* s between updates (LR's horizon) */
    int64_t nv, stride, w, npower;
} facts_t;

/* The hosts PABFD chooses from, at positions 0..n-1 (Python: _compiled.table_args for a HostTable;
 * the optimize path allocates its own with position = host id). */
typedef struct {
    const int64_t *host;   /* (H,) host id at each position (ties go to the lowest id) */
    const double *avail;   /* (H,) the scheduler's available MIPS */
    const double *pe;      /* (H,) MIPS of one PE */
    const double *sum_c;   /* (H,) allocated MIPS: != 0 means the VM is created tentatively and tested */
    const double *sum_r;   /* (H,) requested MIPS */
    const double *cap;     /* (H,) total MIPS */
    const double *pnow;    /* (H,) watts now */
    const int64_t *off;    /* (H,) the host type's table in power */
    const int64_t *nlist;  /* (H,) VMs listed */
    int64_t *peak;         /* (H,) most VMs the scheduler's map ever held; PABFD grows it */
    const int64_t *hlen;   /* (H,) valid length of the host history */
    const double *hist;    /* (H, S) host utilization history, newest first */
    const double *A, *B;   /* (H,) LR: OLS intercept and slope of the host's window */
    const double *hz;      /* (H,) LR: the host's horizon */
    int64_t room;          /* H */
    int64_t n;             /* positions in use */
    const int64_t *scan;   /* the positions PABFD scans, ascending host id (NULL: 0..n-1) */
    int64_t nscan;
    int64_t nx;            /* length of the excluded mask: host ids must be below it */
} hosts_t;

/* PABFD's scratch: the candidates whose verdict is pending, up to one per position */
typedef struct {
    double *d;
    int64_t *pos;
    uint8_t *state;
} cand_t;

/* results besides a position */
#define PABFD_NONE (-1)      /* no suitable host passes */
#define PABFD_PYTHON (-2)    /* a close call: the exact Python code decides */
#define PABFD_BAD_HOST (-3)  /* a host id or power offset out of range (ValueError) */

int64_t pabfd(const facts_t *F, hosts_t *H, int64_t v, const uint8_t *excluded, cand_t *C);
/* the detector on position i as its list stands: 1/0, or PABFD_PYTHON */
int over_now(const facts_t *F, const hosts_t *H, int64_t i);
/* the facts' own consistency (mode, the arrays a mode needs, W <= S); 0 or -1 with ValueError */
int facts_check(const facts_t *F, const char *entry);

extern const arg_t FACTS_ARGS[];
extern const Py_ssize_t FACTS_NARGS;

/* CloudSim's PowerModelSpecPower.getPower(u) on the POWER_POINTS-point table `tab`. */
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

/* P(u) on the table at off stays inside the npower watts (_kernel_timeline.c) */
int power_in_table(double u, int64_t off, int64_t npower);

/* entry points (_kernel_optimize.c, _kernel_timeline.c, _kernel_history.c) */
PyObject *kumo_optimize(PyObject *self, PyObject *args);
PyObject *kumo_initial_place(PyObject *self, PyObject *args);
PyObject *kumo_host_update(PyObject *self, PyObject *args);
PyObject *kumo_spec_power_vec(PyObject *self, PyObject *args);
PyObject *kumo_hist_hosts(PyObject *self, PyObject *args);
PyObject *kumo_hist_vms(PyObject *self, PyObject *args);
/* the Table type (_kernel.c) */
extern PyTypeObject TableType;

#endif
