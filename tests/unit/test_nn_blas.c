/*
 * test_nn_blas.c: the nn module makes OpenBLAS single-threaded at its first
 * dense call whatever the environment or an earlier setting said (our own
 * threads give the parallelism; a BLAS pool under each oversubscribes the
 * cores), and the products stay right.
 */
#include "testutil.h"

#include "ecosight/nn_dense.h"

#include <math.h>

/* OpenBLAS' own controls (cblas.h of the openblas-pthread variant). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static void test_first_dense_call_sets_one_thread(void **state)
{
    (void)state;
    /* as if OPENBLAS_NUM_THREADS or the default had asked for more */
    openblas_set_num_threads(2);
    float inp[2 * 3] = {1, 2, 3, -1, 0.5f, 2};
    float w[3 * 2] = {1, 0, 0, 1, 1, 1};
    float b[2] = {0.5f, -0.5f};
    float out[2 * 2];
    es_dense_forward(out, inp, w, b, 2, 3, 2);
    assert_int_equal(openblas_get_num_threads(), 1);
    /* out = inp . w + b */
    assert_true(fabsf(out[0] - 4.5f) < 1e-6f && fabsf(out[1] - 4.5f) < 1e-6f);
    assert_true(fabsf(out[2] - 1.5f) < 1e-6f && fabsf(out[3] - 2.0f) < 1e-6f);
    /* a big product (OpenBLAS would split it across threads) still matches loops */
    enum { B = 64, C = 256, OC = 128 };
    static float x[B * C], W[C * OC], y[B * OC];
    for (int i = 0; i < B * C; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (int i = 0; i < C * OC; i++)
        W[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
    es_dense_forward(y, x, W, NULL, B, C, OC);
    for (int i = 0; i < B; i += 7)
        for (int o = 0; o < OC; o += 5) {
            double s = 0;
            for (int c = 0; c < C; c++)
                s += (double)x[i * C + c] * W[c * OC + o];
            assert_true(fabs(s - y[i * OC + o]) < 1e-3);
        }
    assert_int_equal(openblas_get_num_threads(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_dense_call_sets_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
