/* The module object of kumo's CloudSim-mode kernel; the code is in _kernel_*.c, shared parts in _kernel.h. */
#include "_kernel.h"

static PyMethodDef methods[] = {
    {"pabfd", kumo_pabfd, METH_VARARGS, "pabfd(ctx, n, v, excluded) -> position, -1 (none) or -2 (use the Python path)"},
    {"spread_now", kumo_spread_now, METH_VARARGS, "spread_now(ctx, i) -> IQR/MAD verdict on position i (0/1) or -2"},
    {"optimize_mmt", kumo_optimize_mmt, METH_VARARGS, "optimize_mmt(ctx) -> migrations written to ctx's out buffer, or -2"},
    {"opt_words", kumo_opt_words, METH_NOARGS, "names of the 64-bit words of an optimize_mmt context, in order"},
    {"initial_place", kumo_initial_place, METH_VARARGS, "CloudSim's initial placement at t = 0 (see the C source)"},
    {"host_update", kumo_host_update, METH_VARARGS, "allocation part of every host's update (see the C source)"},
    {"spec_power_vec", kumo_spec_power_vec, METH_VARARGS, "spec_power_vec(u, off, power, out): P(u) per host"},
    {"hist_hosts", kumo_hist_hosts, METH_VARARGS, "every host's state-history entry at one instant"},
    {"hist_vms", kumo_hist_vms, METH_VARARGS, "VM state-history entries at one instant"},
    {"words", kumo_table_words, METH_NOARGS, "names of the 64-bit words of a context, in order"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernel", "Hot paths of kumo's CloudSim compatibility mode (see kumo/studies/cloudsim/_compiled.py).",
    -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
