// Declarations of the SIMD float32 kernels in native.c.
// nn_groupnorm_fwd_f32 also stores each (sample, group)'s mean and 1/std in
// stats[2*(n*G+g)], [2*(n*G+g)+1] when stats is not NULL.
void nn_groupnorm_fwd_f32(const float *x, const float *gamma, const float *beta, float *y,
                          long n0, long n1, long C, long HW, long G, double eps, int silu, double *stats);
// nn_groupnorm_bwd_f32 writes sample n's [dgamma | dbeta] sums to acc[(n-n0)*2C ...], which must be
// zeroed; it reuses the forward's stats when not NULL and recomputes them otherwise.
void nn_groupnorm_bwd_f32(const float *x, const float *gamma, const float *beta, const float *dy,
                          float *dx, double *acc, long n0, long n1, long C, long HW, long G,
                          double eps, int silu, const double *stats);
void nn_silu_fwd_f32(const float *x, float *y, long n);
void nn_silu_bwd_f32(const float *x, const float *dy, float *dx, long n);
void nn_native_init(void);
