//go:build openblas

// SIMD float32 kernels for the activation-heavy ops (GroupNorm+SiLU, SiLU).
// Each kernel body is an always-inline function compiled twice: for
// AVX2+FMA and for the baseline x86-64 (SSE2), and the exported entry point
// picks one once per process from the CPU's features. They mirror the
// pure-Go kernels in norm_kernel.go and elementwise_kernel.go, which remain
// the reference and the fallback.

#include <math.h>
#include <string.h>
#include "native.h"
#include <immintrin.h>

typedef float v8sf __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8sf splat(float x) { return (v8sf){x, x, x, x, x, x, x, x}; }
INLINE v8si splati(int x) { return (v8si){x, x, x, x, x, x, x, x}; }

// sel returns a where mask is set (all ones) and b elsewhere.
INLINE v8sf sel(v8si mask, v8sf a, v8sf b) { return (v8sf)(((v8si)a & mask) | ((v8si)b & ~mask)); }

// load8 reads n <= 8 floats, zero-filling the rest of the vector.
INLINE v8sf load8(const float *p, int n) {
	v8sf v;
	if (n == 8) {
		memcpy(&v, p, sizeof v);
		return v;
	}
	v = splat(0);
	for (int j = 0; j < n; j++) v[j] = p[j];
	return v;
}

// store8 writes the first n <= 8 lanes of v.
INLINE void store8(float *p, v8sf v, int n) {
	if (n == 8) {
		memcpy(p, &v, sizeof v);
		return;
	}
	for (int j = 0; j < n; j++) p[j] = v[j];
}

// vsigmoid computes 1/(1+e^-z) lane-wise as the Go sigmoid32 does:
// e = exp(-|z|) by range reduction and a degree-5 polynomial, then
// 1/(1+e) or e/(1+e) by the sign of z.
INLINE v8sf vsigmoid(v8sf z) {
	v8si bits = (v8si)z;
	v8sf a = (v8sf)(bits | splati((int)0x80000000));
	a = sel(a < splat(-87.0f), splat(-87.0f), a);
	v8sf fx = a * splat(1.44269504088896341f) - splat(0.5f);
	v8si ni = __builtin_convertvector(fx, v8si);
	v8sf n = __builtin_convertvector(ni, v8sf);
	v8sf r = a - n * splat(0.693359375f) + n * splat(2.12194440e-4f);
	v8sf p = splat(1.9875691500e-4f);
	p = p * r + splat(1.3981999507e-3f);
	p = p * r + splat(8.3334519073e-3f);
	p = p * r + splat(4.1665795894e-2f);
	p = p * r + splat(1.6666665459e-1f);
	p = p * r + splat(5.0000001201e-1f);
	v8sf e = (p * r * r + r + splat(1.0f)) * (v8sf)((ni + splati(127)) << 23);
	v8sf num = sel(bits < splati(0), e, splat(1.0f));
	return num / (splat(1.0f) + e);
}

INLINE float hsum(v8sf v) {
	return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

// group_stats returns the mean and 1/sqrt(var+eps) of xs[0..n).
INLINE void group_stats(const float *xs, long n, double eps, double *mean, double *rstd) {
	v8sf acc = splat(0);
	long i = 0;
	for (; i + 8 <= n; i += 8) acc += load8(xs + i, 8);
	if (i < n) acc += load8(xs + i, (int)(n - i));
	double m = (double)hsum(acc) / (double)n;
	v8sf mv = splat((float)m), sq = splat(0);
	for (i = 0; i + 8 <= n; i += 8) {
		v8sf d = load8(xs + i, 8) - mv;
		sq += d * d;
	}
	if (i < n) {
		int k = (int)(n - i);
		v8sf d = load8(xs + i, k) - mv;
		for (int j = k; j < 8; j++) d[j] = 0;
		sq += d * d;
	}
	*mean = m;
	*rstd = 1.0 / sqrt((double)hsum(sq) / (double)n + eps);
}

INLINE void body_groupnorm_fwd_f32(const float *x, const float *gamma, const float *beta, float *y,
                                 long n0, long n1, long C, long HW, long G, double eps, int silu, double *stats) {
	long cg = C / G;
	for (long n = n0; n < n1; n++) {
		for (long g = 0; g < G; g++) {
			long base = (n * C + g * cg) * HW;
			double mean, rstd;
			group_stats(x + base, cg * HW, eps, &mean, &rstd);
			if (stats) {
				stats[2 * (n * G + g)] = mean;
				stats[2 * (n * G + g) + 1] = rstd;
			}
			for (long c = 0; c < cg; c++) {
				long ch = g * cg + c;
				float a = (float)rstd * gamma[ch];
				float b = beta[ch] - (float)mean * a;
				const float *xs = x + base + c * HW;
				float *ys = y + base + c * HW;
				v8sf av = splat(a), bv = splat(b);
				for (long i = 0; i < HW; i += 8) {
					int k = HW - i < 8 ? (int)(HW - i) : 8;
					v8sf z = load8(xs + i, k) * av + bv;
					if (silu) z = z * vsigmoid(z);
					store8(ys + i, z, k);
				}
			}
		}
	}
}

// gn_bwd_group handles one (sample, group); see groupNormBackwardGroup.
INLINE void gn_bwd_group(const float *x, const float *gamma, const float *beta, const float *dy,
                                float *dx, double *acc, long C, long HW, long cg, long g, long base,
                                double eps, int silu, const double *st) {
	double mean, rstd;
	if (st) {
		mean = st[0];
		rstd = st[1];
	} else {
		group_stats(x + base, cg * HW, eps, &mean, &rstd);
	}
	v8sf mv = splat((float)mean), rv = splat((float)rstd);
	double s1 = 0, s2 = 0;
	for (long c = 0; c < cg; c++) {
		long ch = g * cg + c;
		v8sf gam = splat(gamma[ch]), bet = splat(beta[ch]);
		v8sf dg = splat(0), db = splat(0), cs1 = splat(0), cs2 = splat(0);
		long off = base + c * HW;
		for (long i = 0; i < HW; i += 8) {
			int k = HW - i < 8 ? (int)(HW - i) : 8;
			v8sf xh = (load8(x + off + i, k) - mv) * rv;
			v8sf d = load8(dy + off + i, k);
			if (silu) {
				v8sf z = xh * gam + bet;
				v8sf s = vsigmoid(z);
				d = d * (s + z * s * (splat(1.0f) - s));
			}
			if (k < 8) {
				for (int j = k; j < 8; j++) {
					d[j] = 0;
					xh[j] = 0;
				}
			}
			dg += d * xh;
			db += d;
			v8sf dxh = d * gam;
			store8(dx + off + i, dxh, k);
			cs1 += dxh;
			cs2 += dxh * xh;
		}
		acc[ch] += hsum(dg);
		acc[C + ch] += hsum(db);
		s1 += hsum(cs1);
		s2 += hsum(cs2);
	}
	double gsize = (double)(cg * HW);
	v8sf m1 = splat((float)(s1 / gsize)), m2 = splat((float)(s2 / gsize));
	for (long c = 0; c < cg; c++) {
		long off = base + c * HW;
		for (long i = 0; i < HW; i += 8) {
			int k = HW - i < 8 ? (int)(HW - i) : 8;
			v8sf xh = (load8(x + off + i, k) - mv) * rv;
			v8sf v = rv * (load8(dx + off + i, k) - m1 - xh * m2);
			store8(dx + off + i, v, k);
		}
	}
}

INLINE void body_groupnorm_bwd_f32(const float *x, const float *gamma, const float *beta, const float *dy,
                                 float *dx, double *acc, long n0, long n1, long C, long HW, long G,
                                 double eps, int silu, const double *stats) {
	long cg = C / G;
	for (long n = n0; n < n1; n++) {
		for (long g = 0; g < G; g++) {
			gn_bwd_group(x, gamma, beta, dy, dx, acc + (n - n0) * 2 * C, C, HW, cg, g, (n * C + g * cg) * HW, eps,
			             silu, stats ? stats + 2 * (n * G + g) : 0);
		}
	}
}

INLINE void body_silu_fwd_f32(const float *x, float *y, long n) {
	for (long i = 0; i < n; i += 8) {
		int k = n - i < 8 ? (int)(n - i) : 8;
		v8sf z = load8(x + i, k);
		store8(y + i, z * vsigmoid(z), k);
	}
}

INLINE void body_silu_bwd_f32(const float *x, const float *dy, float *dx, long n) {
	for (long i = 0; i < n; i += 8) {
		int k = n - i < 8 ? (int)(n - i) : 8;
		v8sf z = load8(x + i, k);
		v8sf s = vsigmoid(z);
		store8(dx + i, load8(dy + i, k) * (s + z * s * (splat(1.0f) - s)), k);
	}
}

// The entry points: one AVX2+FMA and one baseline instance of each body,
// and a dispatcher that checks the CPU once.

#define AVX2 __attribute__((target("avx2,fma")))

static int use_avx2;

// nn_native_init detects AVX2 and FMA; Go calls it once at package init,
// before any kernel runs.
void nn_native_init(void) {
	__builtin_cpu_init();
	use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int have_avx2(void) { return use_avx2; }

AVX2 static void gn_fwd_avx2(const float *x, const float *gamma, const float *beta, float *y, long n0,
                             long n1, long C, long HW, long G, double eps, int silu, double *stats) {
	body_groupnorm_fwd_f32(x, gamma, beta, y, n0, n1, C, HW, G, eps, silu, stats);
}

static void gn_fwd_base(const float *x, const float *gamma, const float *beta, float *y, long n0,
                        long n1, long C, long HW, long G, double eps, int silu, double *stats) {
	body_groupnorm_fwd_f32(x, gamma, beta, y, n0, n1, C, HW, G, eps, silu, stats);
}

void nn_groupnorm_fwd_f32(const float *x, const float *gamma, const float *beta, float *y, long n0,
                          long n1, long C, long HW, long G, double eps, int silu, double *stats) {
	if (have_avx2())
		gn_fwd_avx2(x, gamma, beta, y, n0, n1, C, HW, G, eps, silu, stats);
	else
		gn_fwd_base(x, gamma, beta, y, n0, n1, C, HW, G, eps, silu, stats);
}

AVX2 static void gn_bwd_avx2(const float *x, const float *gamma, const float *beta, const float *dy,
                             float *dx, double *acc, long n0, long n1, long C, long HW, long G,
                             double eps, int silu, const double *stats) {
	body_groupnorm_bwd_f32(x, gamma, beta, dy, dx, acc, n0, n1, C, HW, G, eps, silu, stats);
}

static void gn_bwd_base(const float *x, const float *gamma, const float *beta, const float *dy,
                        float *dx, double *acc, long n0, long n1, long C, long HW, long G,
                        double eps, int silu, const double *stats) {
	body_groupnorm_bwd_f32(x, gamma, beta, dy, dx, acc, n0, n1, C, HW, G, eps, silu, stats);
}

void nn_groupnorm_bwd_f32(const float *x, const float *gamma, const float *beta, const float *dy,
                          float *dx, double *acc, long n0, long n1, long C, long HW, long G,
                          double eps, int silu, const double *stats) {
	if (have_avx2())
		gn_bwd_avx2(x, gamma, beta, dy, dx, acc, n0, n1, C, HW, G, eps, silu, stats);
	else
		gn_bwd_base(x, gamma, beta, dy, dx, acc, n0, n1, C, HW, G, eps, silu, stats);
}

AVX2 static void silu_fwd_avx2(const float *x, float *y, long n) { body_silu_fwd_f32(x, y, n); }
static void silu_fwd_base(const float *x, float *y, long n) { body_silu_fwd_f32(x, y, n); }

void nn_silu_fwd_f32(const float *x, float *y, long n) {
	if (have_avx2())
		silu_fwd_avx2(x, y, n);
	else
		silu_fwd_base(x, y, n);
}

AVX2 static void silu_bwd_avx2(const float *x, const float *dy, float *dx, long n) { body_silu_bwd_f32(x, dy, dx, n); }
static void silu_bwd_base(const float *x, const float *dy, float *dx, long n) { body_silu_bwd_f32(x, dy, dx, n); }

void nn_silu_bwd_f32(const float *x, const float *dy, float *dx, long n) {
	if (have_avx2())
		silu_bwd_avx2(x, dy, dx, n);
	else
		silu_bwd_base(x, dy, dx, n);
}


// The direct convolution: y[o*ystride + p] = sum over input channels c and
// taps t of w[(c*taps + t)*cout + o] * x[c*cstride + off[t] + p], for p in
// [p0, p1) in blocks of 16 (the caller provides readable input and writable
// output up to the next multiple of 16) and o in [0, cout), cout a
// multiple of 6. It is the tap decomposition of conv_taps.go without the
// GEMM: the accumulators for 6 output channels times 16 positions stay in
// 12 registers over the whole reduction, so nothing is packed or re-read.
// It needs AVX2 and FMA (nn_conv_direct_ok); Go falls back to the GEMM
// path otherwise.
AVX2 void nn_conv_direct_f32(const float *x, long cin, long cstride, const long *off, long taps,
                             const float *w, long cout, float *y, long ystride, long p0, long p1) {
	for (long p = p0; p < p1; p += 16) {
		for (long o0 = 0; o0 < cout; o0 += 6) {
			__m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
			__m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
			__m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
			__m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
			__m256 a40 = _mm256_setzero_ps(), a41 = _mm256_setzero_ps();
			__m256 a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();
			for (long c = 0; c < cin; c++) {
				const float *xc = x + c * cstride + p;
				const float *wc = w + c * taps * cout + o0;
				for (long t = 0; t < taps; t++) {
					__m256 x0 = _mm256_loadu_ps(xc + off[t]);
					__m256 x1 = _mm256_loadu_ps(xc + off[t] + 8);
					const float *wt = wc + t * cout;
					__m256 b = _mm256_broadcast_ss(wt);
					a00 = _mm256_fmadd_ps(b, x0, a00);
					a01 = _mm256_fmadd_ps(b, x1, a01);
					b = _mm256_broadcast_ss(wt + 1);
					a10 = _mm256_fmadd_ps(b, x0, a10);
					a11 = _mm256_fmadd_ps(b, x1, a11);
					b = _mm256_broadcast_ss(wt + 2);
					a20 = _mm256_fmadd_ps(b, x0, a20);
					a21 = _mm256_fmadd_ps(b, x1, a21);
					b = _mm256_broadcast_ss(wt + 3);
					a30 = _mm256_fmadd_ps(b, x0, a30);
					a31 = _mm256_fmadd_ps(b, x1, a31);
					b = _mm256_broadcast_ss(wt + 4);
					a40 = _mm256_fmadd_ps(b, x0, a40);
					a41 = _mm256_fmadd_ps(b, x1, a41);
					b = _mm256_broadcast_ss(wt + 5);
					a50 = _mm256_fmadd_ps(b, x0, a50);
					a51 = _mm256_fmadd_ps(b, x1, a51);
				}
			}
			float *yo = y + o0 * ystride + p;
			_mm256_storeu_ps(yo, a00);
			_mm256_storeu_ps(yo + 8, a01);
			_mm256_storeu_ps(yo + ystride, a10);
			_mm256_storeu_ps(yo + ystride + 8, a11);
			_mm256_storeu_ps(yo + 2 * ystride, a20);
			_mm256_storeu_ps(yo + 2 * ystride + 8, a21);
			_mm256_storeu_ps(yo + 3 * ystride, a30);
			_mm256_storeu_ps(yo + 3 * ystride + 8, a31);
			_mm256_storeu_ps(yo + 4 * ystride, a40);
			_mm256_storeu_ps(yo + 4 * ystride + 8, a41);
			_mm256_storeu_ps(yo + 5 * ystride, a50);
			_mm256_storeu_ps(yo + 5 * ystride + 8, a51);
		}
	}
}

int nn_conv_direct_ok(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// The filter gradient as a direct kernel: dw[r*cols + o] += sum over p in
// [0, n) of x[rowoff[r] + p] * dyt[p*cols + o] for rows r in [0, rows)
// (rows a multiple of 6; row r is one (input channel, tap) pair, rowoff its
// view of the padded input) and o in [0, cols) (a multiple of 16; dyt is
// the output gradient position-major). The 6 x 16 accumulators stay in
// registers over the whole position loop. Needs AVX2 and FMA.
AVX2 void nn_conv_gradw_f32(const float *x, const long *rowoff, long rows, const float *dyt, long cols, long n,
                            float *dw) {
	for (long r0 = 0; r0 < rows; r0 += 6) {
		const float *x0p = x + rowoff[r0], *x1p = x + rowoff[r0 + 1], *x2p = x + rowoff[r0 + 2];
		const float *x3p = x + rowoff[r0 + 3], *x4p = x + rowoff[r0 + 4], *x5p = x + rowoff[r0 + 5];
		for (long o0 = 0; o0 < cols; o0 += 16) {
			__m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
			__m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
			__m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
			__m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
			__m256 a40 = _mm256_setzero_ps(), a41 = _mm256_setzero_ps();
			__m256 a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();
			const float *d = dyt + o0;
			for (long p = 0; p < n; p++, d += cols) {
				__m256 y0 = _mm256_loadu_ps(d);
				__m256 y1 = _mm256_loadu_ps(d + 8);
				__m256 b = _mm256_broadcast_ss(x0p + p);
				a00 = _mm256_fmadd_ps(b, y0, a00);
				a01 = _mm256_fmadd_ps(b, y1, a01);
				b = _mm256_broadcast_ss(x1p + p);
				a10 = _mm256_fmadd_ps(b, y0, a10);
				a11 = _mm256_fmadd_ps(b, y1, a11);
				b = _mm256_broadcast_ss(x2p + p);
				a20 = _mm256_fmadd_ps(b, y0, a20);
				a21 = _mm256_fmadd_ps(b, y1, a21);
				b = _mm256_broadcast_ss(x3p + p);
				a30 = _mm256_fmadd_ps(b, y0, a30);
				a31 = _mm256_fmadd_ps(b, y1, a31);
				b = _mm256_broadcast_ss(x4p + p);
				a40 = _mm256_fmadd_ps(b, y0, a40);
				a41 = _mm256_fmadd_ps(b, y1, a41);
				b = _mm256_broadcast_ss(x5p + p);
				a50 = _mm256_fmadd_ps(b, y0, a50);
				a51 = _mm256_fmadd_ps(b, y1, a51);
			}
			float *o = dw + r0 * cols + o0;
#define ACC(row, lo, hi)                                                                   \
	_mm256_storeu_ps(o + (row) * cols, _mm256_add_ps(_mm256_loadu_ps(o + (row) * cols), lo));     \
	_mm256_storeu_ps(o + (row) * cols + 8, _mm256_add_ps(_mm256_loadu_ps(o + (row) * cols + 8), hi))
			ACC(0, a00, a01);
			ACC(1, a10, a11);
			ACC(2, a20, a21);
			ACC(3, a30, a31);
			ACC(4, a40, a41);
			ACC(5, a50, a51);
#undef ACC
		}
	}
}
