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
// nn_conv_direct_f32 is the register-tiled direct convolution over tap
// offsets; see native.c. cout must be a multiple of 6, and input and
// output readable/writable up to p0 + ceil((p1-p0)/16)*16. It may be called
// only when nn_conv_direct_ok() returns 1 (the CPU has AVX2 and FMA).
void nn_conv_direct_f32(const float *x, long cin, long cstride, const long *off, long taps, const float *w,
                        long cout, float *y, long ystride, long p0, long p1);
int nn_conv_direct_ok(void);
// nn_conv_gradw_f32 is the register-tiled filter-gradient kernel; see
// native.c. rows must be a multiple of 6 and cols of 16; it accumulates into
// dw. Only when nn_conv_direct_ok() returns 1.
void nn_conv_gradw_f32(const float *x, const long *rowoff, long rows, const float *dyt, long cols, long n,
                       float *dw);
