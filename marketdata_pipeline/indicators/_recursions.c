/* TA-Lib's recursions as loops, in TA-Lib's order of operations (ta_EMA.c, ta_RSI.c).
 *
 * An EMA or a Wilder average is a chain: each value needs the one before, so numpy can only
 * solve it in passes over memory (2-3x TA-Lib's time). As a loop it costs a few cycles a bar,
 * and several chains over one input advance together in one loop, where the processor
 * overlaps them: the eight indicator columns take less time than TA-Lib's calls.
 *
 * Values agree with TA-Lib 0.8's to the last bit or within an ulp or two: its build divides by
 * the period as a multiplication by the inverse (done here too: RSI is bit for bit), and may sum
 * a seed in another order. Bars before a chain's first value are 0 (the caller marks them
 * null). The GIL is released: polars may run several expressions at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_CHAINS 3

typedef struct {
    Py_buffer buffer;
    double *out;
    Py_ssize_t first, bar; /* EMA: seeded with the mean of x[first..bar]; RSI: bar = period */
    double k, keep, inverse;
    double value, gain, loss;
} Chain;

/* x, and each tuple of `chains` into a Chain: (first, bar, k, out) for an EMA, (period, out)
 * for an RSI, every out a float64 buffer of x's length. Returns the number of chains, or -1
 * with an exception set and every buffer released. */
static int parse(PyObject *args, Py_buffer *x, Chain *chains, int is_rsi) {
    PyObject *items, *tuple;
    if (!PyArg_ParseTuple(args, "y*O", x, &items))
        return -1;
    tuple = PySequence_Tuple(items); /* a copy: parsing an item cannot change it */
    Py_ssize_t size = tuple ? PyTuple_GET_SIZE(tuple) : 0;
    int count = 0, ok = tuple != NULL;
    if (ok && size > MAX_CHAINS) {
        PyErr_SetString(PyExc_ValueError, "at most 3 chains");
        ok = 0;
    }
    for (Py_ssize_t i = 0; ok && i < size; i++) {
        Chain *c = &chains[count];
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        ok = is_rsi ? PyArg_ParseTuple(item, "nw*", &c->bar, &c->buffer)
                    : PyArg_ParseTuple(item, "nndw*", &c->first, &c->bar, &c->k, &c->buffer);
        if (!ok)
            break;
        count++;
        c->out = c->buffer.buf;
        if (c->buffer.len != x->len || x->len % sizeof(double) || c->buffer.buf == x->buf ||
            (is_rsi ? c->bar < 1 : c->first < 0 || c->first > c->bar)) {
            PyErr_SetString(PyExc_ValueError, "float64 buffers of one length, out not x, and "
                                              "0 <= first <= bar (EMA) or period >= 1 (RSI)");
            ok = 0;
        }
    }
    Py_XDECREF(tuple);
    if (ok)
        return count;
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&chains[i].buffer);
    PyBuffer_Release(x);
    return -1;
}

/* A chain's seed sets its state and returns its value at its bar; a step advances it to bar t
 * and returns the value there. */
typedef double (*Seed)(Chain *c, const double *x);
typedef double (*Step)(Chain *c, const double *x, Py_ssize_t t);

/* EMA: seeded with the mean of x[first..bar] summed in order, then TA-Lib's
 * ((x - prev) * k) + prev. */
static double ema_seed(Chain *c, const double *x) {
    double sum = 0.0;
    for (Py_ssize_t t = c->first; t <= c->bar; t++)
        sum += x[t];
    return c->value = sum / (double)(c->bar - c->first + 1);
}

static inline double ema_step(Chain *c, const double *x, Py_ssize_t t) {
    return c->value = ((x[t] - c->value) * c->k) + c->value;
}

/* RSI: 100 * gain / (gain + loss), 0 when flat, the averages seeded with the means of the
 * first `period` changes. */
static inline double rsi_of(Chain *c) {
    double sum = c->gain + c->loss;
    return sum != 0.0 ? 100.0 * (c->gain / sum) : 0.0;
}

static double rsi_seed(Chain *c, const double *x) {
    c->inverse = 1.0 / (double)c->bar;
    c->keep = (double)(c->bar - 1);
    c->gain = c->loss = 0.0;
    for (Py_ssize_t t = 1; t <= c->bar; t++) {
        double diff = x[t] - x[t - 1];
        if (diff < 0)
            c->loss -= diff;
        else
            c->gain += diff;
    }
    c->loss *= c->inverse;
    c->gain *= c->inverse;
    return rsi_of(c);
}

/* One Wilder step: ta_RSI.c subtracts a negative change from the loss and adds any other to
 * the gain. Adding 0.0 to the other changes nothing; as maxima there is no branch for a random
 * walk to mispredict (2.5x faster). */
static inline double rsi_step(Chain *c, const double *x, Py_ssize_t t) {
    double diff = x[t] - x[t - 1];
    double up = diff > 0.0 ? diff : 0.0, down = -diff > 0.0 ? -diff : 0.0;
    c->loss = (c->loss * c->keep + down) * c->inverse;
    c->gain = (c->gain * c->keep + up) * c->inverse;
    return rsi_of(c);
}

/* Every chain: 0 before its bar, its seed, its steps alone up to the last chain's bar, then the
 * steps of all together. Together means three chains copied to locals the compiler keeps in
 * registers (fewer chains repeat the first: the same values written twice), whose steps do not
 * wait for each other, so the processor overlaps them. Inlined per seed and step. */
static inline __attribute__((always_inline)) PyObject *
run(PyObject *args, int is_rsi, Seed seed, Step step) {
    Py_buffer xb;
    Chain chains[MAX_CHAINS];
    int count = parse(args, &xb, chains, is_rsi);
    if (count < 0)
        return NULL;
    const double *x = xb.buf;
    Py_ssize_t n = xb.len / (Py_ssize_t)sizeof(double), common = 0, t;
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < count; i++) {
        Chain *c = &chains[i];
        common = c->bar > common ? c->bar : common;
        for (t = 0; t < c->bar && t < n; t++)
            c->out[t] = 0.0;
    }
    Py_ssize_t last = common < n ? common : n - 1;
    for (int i = 0; i < count; i++) {
        Chain *c = &chains[i];
        if (c->bar >= n)
            continue;
        c->out[c->bar] = seed(c, x);
        for (t = c->bar + 1; t <= last; t++)
            c->out[t] = step(c, x, t);
    }
    if (count && common < n) { /* common + 1 would overflow for a huge bar */
        Chain a = chains[0], b = chains[count > 1], c = chains[count > 2 ? 2 : 0];
        for (t = common + 1; t < n; t++) {
            double va = step(&a, x, t), vb = step(&b, x, t), vc = step(&c, x, t);
            a.out[t] = va;
            b.out[t] = vb;
            c.out[t] = vc;
        }
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&chains[i].buffer);
    PyBuffer_Release(&xb);
    Py_RETURN_NONE;
}

/* emas(x, [(first, bar, k, out), ...]) */
static PyObject *emas(PyObject *self, PyObject *args) { return run(args, 0, ema_seed, ema_step); }

/* rsis(x, [(period, out), ...]): Wilder's RSI as ta_RSI.c computes it, from bar `period`. */
static PyObject *rsis(PyObject *self, PyObject *args) { return run(args, 1, rsi_seed, rsi_step); }

static PyMethodDef methods[] = {
    {"emas", emas, METH_VARARGS, "emas(x, [(first, bar, k, out), ...]): seeded EMAs of x"},
    {"rsis", rsis, METH_VARARGS, "rsis(x, [(period, out), ...]): Wilder RSIs of x"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_recursions", NULL, -1, methods};

PyMODINIT_FUNC PyInit__recursions(void) { return PyModule_Create(&module); }
