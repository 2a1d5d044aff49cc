/* The module object of the CloudSim study's kernel and its Table type; the code is in _kernel_*.c, shared
 * parts in _kernel.h. */
#include "_kernel.h"

/* ============================================================================================================
 * Table(facts, host, avail, pe, sum_c, sum_r, cap, pnow, off, nlist, peak, hlen, hist, A, B, hz): PABFD and the
 * "over-utilized now" test on a Python HostTable (kumo/studies/cloudsim/_table.py). The arrays are the
 * table's own, with room for every host (H rows; positions 0..n-1 in use), read in place: Python edits them
 * between calls, the kernel writes only peak. The Table keeps them alive.
 * ========================================================================================================== */
typedef struct {
    PyObject_HEAD
    facts_t F;
    hosts_t H;
    cand_t C;
    views_t vw;
    void *scratch;
} TableObject;

static const arg_t HOSTS_ARGS[] = {
    {"host", A_I64, 'H', 0, A_REQUIRED, offsetof(hosts_t, host)},
    {"avail", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, avail)},
    {"pe", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, pe)},
    {"sum_c", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, sum_c)},
    {"sum_r", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, sum_r)},
    {"cap", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, cap)},
    {"pnow", A_F64, 'H', 0, A_REQUIRED, offsetof(hosts_t, pnow)},
    {"off", A_I64, 'H', 0, A_REQUIRED, offsetof(hosts_t, off)},
    {"nlist", A_I64, 'H', 0, A_REQUIRED, offsetof(hosts_t, nlist)},
    {"peak", A_I64, 'H', 0, A_WRITE, offsetof(hosts_t, peak)},
    {"hlen", A_I64, 'H', 0, A_REQUIRED, offsetof(hosts_t, hlen)},
    {"hist", A_F64, 'H', 'S', A_REQUIRED, offsetof(hosts_t, hist)},
    {"A", A_F64, 'H', 0, A_OPTIONAL, offsetof(hosts_t, A)},
    {"B", A_F64, 'H', 0, A_OPTIONAL, offsetof(hosts_t, B)},
    {"hz", A_F64, 'H', 0, A_OPTIONAL, offsetof(hosts_t, hz)},
};
#define HOSTS_NARGS ((Py_ssize_t)(sizeof(HOSTS_ARGS) / sizeof(HOSTS_ARGS[0])))

static void table_dealloc(TableObject *t)
{
    views_release(&t->vw);
    PyMem_Free(t->scratch);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *table_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static const char *entry = "Table";
    if (kwds && PyDict_Size(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Table takes positional arguments only");
        return NULL;
    }
    if (check_count(args, 1 + HOSTS_NARGS, entry) < 0)
        return NULL;
    TableObject *t = (TableObject *)type->tp_alloc(type, 0);
    if (!t)
        return NULL;
    views_init(&t->vw);
    memset(&t->F, 0, sizeof(t->F));
    memset(&t->H, 0, sizeof(t->H));
    if (args_fill(PyTuple_GET_ITEM(args, 0), 0, entry, FACTS_ARGS, FACTS_NARGS, &t->F, &t->vw) < 0 ||
        args_fill(args, 1, entry, HOSTS_ARGS, HOSTS_NARGS, &t->H, &t->vw) < 0)
        goto fail;
    t->F.nv = t->vw.size['V'];
    t->F.stride = t->vw.size['S'];
    t->F.w = t->vw.size['W'] < 0 ? 0 : t->vw.size['W'];
    t->F.npower = t->vw.size['P'];
    t->H.room = t->vw.size['H'];
    if (facts_check(&t->F, entry) < 0)
        goto fail;
    if (t->F.mode == MODE_LR && (!t->H.A || !t->H.B || !t->H.hz)) {
        PyErr_Format(PyExc_ValueError, "%s: LR needs the hosts' A, B and hz", entry);
        goto fail;
    }
    const int64_t room = t->H.room;
    t->scratch = PyMem_Malloc((size_t)(room + 1) * (2 * sizeof(double) + 1));
    if (!t->scratch) {
        PyErr_NoMemory();
        goto fail;
    }
    t->C.d = (double *)t->scratch;
    t->C.pos = (int64_t *)(t->C.d + room + 1);
    t->C.state = (uint8_t *)(t->C.pos + room + 1);
    return (PyObject *)t;
fail:
    Py_DECREF(t);
    return NULL;
}

/* pabfd(v, excluded, n) -> position, -1 (no host) or -2 (a close call: run the Python pabfd) */
static PyObject *table_pabfd(TableObject *t, PyObject *args)
{
    Py_ssize_t v, n;
    PyObject *ex_obj;
    if (!PyArg_ParseTuple(args, "nOn", &v, &ex_obj, &n))
        return NULL;
    if (v < 0 || v >= t->F.nv || n < 0 || n > t->H.room) {
        PyErr_Format(PyExc_IndexError, "Table.pabfd: VM %zd of %lld or %zd positions of %lld", v,
                     (long long)t->F.nv, n, (long long)t->H.room);
        return NULL;
    }
    Py_buffer ex;
    if (PyObject_GetBuffer(ex_obj, &ex, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char *f = ex.format ? ex.format : "B";
    if (ex.itemsize != 1 || ex.ndim != 1 || (strcmp(f, "?") && strcmp(f, "B"))) {
        PyBuffer_Release(&ex);
        PyErr_SetString(PyExc_TypeError, "Table.pabfd: excluded must be a C-contiguous bool/uint8 array of 1 dimension");
        return NULL;
    }
    t->H.n = n;
    t->H.nx = ex.shape[0];
    int64_t r = pabfd(&t->F, &t->H, v, (const uint8_t *)ex.buf, &t->C);
    PyBuffer_Release(&ex);
    if (r == PABFD_BAD_HOST) {
        PyErr_SetString(PyExc_ValueError, "Table.pabfd: a host id beyond the excluded mask or a power offset "
                                          "beyond the table");
        return NULL;
    }
    return PyLong_FromLongLong(r);
}

/* over_now(i) -> the detector on position i as its list stands: 0/1, or -2 (run the exact Python code) */
static PyObject *table_over_now(TableObject *t, PyObject *args)
{
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "n", &i))
        return NULL;
    if (i < 0 || i >= t->H.room) {
        PyErr_Format(PyExc_IndexError, "Table.over_now: position %zd of %lld", i, (long long)t->H.room);
        return NULL;
    }
    return PyLong_FromLong(over_now(&t->F, &t->H, i));
}

static PyMethodDef table_methods[] = {
    {"pabfd", (PyCFunction)table_pabfd, METH_VARARGS,
     "pabfd(v, excluded, n) -> position, -1 (none) or -2 (a close call for the Python path)"},
    {"over_now", (PyCFunction)table_over_now, METH_VARARGS,
     "over_now(i) -> the detector on position i as its list stands (0/1) or -2 (the Python path decides)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kumo.studies.cloudsim._kernel.Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "PABFD and the over-utilized test on a Python HostTable's arrays (see _kernel.c).",
    .tp_methods = table_methods,
    .tp_new = table_new,
};

/* ============================================================================================================ */

static PyMethodDef methods[] = {
    {"optimize", kumo_optimize, METH_VARARGS,
     "optimize(facts, cap, pe, off, type, u, peak, s_vm, s_host, c_slot, alloc, out, over, sel) -> the number of "
     "migrations written to out, or -2 (the Python path decides)"},
    {"initial_place", kumo_initial_place, METH_VARARGS,
     "initial_place(vm_mips, vm_ram, vm_bw, pe, cap, host_ram, host_bw, power, off, peak, vm_host, kind, limit) "
     "-> the first VM without a host, or -1"},
    {"host_update", kumo_host_update, METH_VARARGS,
     "host_update(rs, s_host, s_role, slot_hash, pe, cap, peak, c, alloc, U, R, grow_peak) -> True, or False "
     "(the Python path decides)"},
    {"spec_power_vec", kumo_spec_power_vec, METH_VARARGS,
     "spec_power_vec(u, off, power, out) -> True: P(u) per host; False where u leaves the table"},
    {"hist_hosts", kumo_hist_hosts, METH_VARARGS, "every host's state-history entry at one instant"},
    {"hist_vms", kumo_hist_vms, METH_VARARGS, "VM state-history entries at one instant"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernel",
    "Hot paths of the CloudSim study's compatibility mode (see kumo/studies/cloudsim/_compiled.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void)
{
    if (PyType_Ready(&TableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
