//go:build openblas

// The streams' augmentation kernels in C: the interior of the bilinear
// warp from 8-bit pixels (AVX2 gathers, eight pixels at a time, when the
// CPU has AVX2; scalar otherwise) and the table noise. They compute
// exactly what innerBytes and Affine.noise in affine.go compute (integer
// weights; no FMA is enabled, so no a*b+c is contracted), which remain
// the reference.

#include <stdint.h>
#include <immintrin.h>
#include "warp.h"

#define K (1.0f / (127.5f * 65536.0f))

static inline float px1(const uint8_t *src, long size, int32_t sx, int32_t sy) {
	const uint8_t *r0 = src + (long)(sy >> 16) * size + (sx >> 16);
	const uint8_t *r1 = r0 + size;
	int32_t fx = (sx >> 8) & 0xff, fy = (sy >> 8) & 0xff;
	int32_t p0 = r0[0], p1 = r0[1], p2 = r1[0], p3 = r1[1];
	int32_t top = (p0 << 8) + (p1 - p0) * fx;
	int32_t bot = (p2 << 8) + (p3 - p2) * fx;
	float v = (float)((top << 8) + (bot - top) * fy);
	return v * K - 1.0f;
}

static void run_scalar(float *out, const uint8_t *src, long size, int32_t sx, int32_t sy, int32_t ax, int32_t ay, long n) {
	for (long x = 0; x < n; x++) {
		out[x] = px1(src, size, sx, sy);
		sx += ax;
		sy += ay;
	}
}

__attribute__((target("avx2"))) static void run_avx2(float *out, const uint8_t *src, long size, int32_t sx, int32_t sy,
                                                     int32_t ax, int32_t ay, long n) {
	// A 4-byte gather at the bottom-right neighbour's row reads up to two
	// bytes past it: only blocks whose lower row is above the last row go
	// through the gathers.
	const int32_t last = (int32_t)size - 2;
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	const __m256i vax = _mm256_set1_epi32(ax), vay = _mm256_set1_epi32(ay);
	const __m256i vsize = _mm256_set1_epi32((int32_t)size), ff = _mm256_set1_epi32(0xff);
	const __m256 k = _mm256_set1_ps(K), one = _mm256_set1_ps(1.0f);
	__m256i vsx = _mm256_add_epi32(_mm256_set1_epi32(sx), _mm256_mullo_epi32(lane, vax));
	__m256i vsy = _mm256_add_epi32(_mm256_set1_epi32(sy), _mm256_mullo_epi32(lane, vay));
	const __m256i step_x = _mm256_set1_epi32(ax * 8), step_y = _mm256_set1_epi32(ay * 8);
	long x = 0;
	for (; x + 8 <= n; x += 8) {
		int32_t sy0 = sy + (int32_t)x * ay, sy7 = sy0 + 7 * ay;
		if ((sy0 >> 16) >= last || (sy7 >> 16) >= last) {
			run_scalar(out + x, src, size, sx + (int32_t)x * ax, sy0, ax, ay, 8);
		} else {
			__m256i ix = _mm256_srai_epi32(vsx, 16), iy = _mm256_srai_epi32(vsy, 16);
			__m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(iy, vsize), ix);
			__m256i g0 = _mm256_i32gather_epi32((const int *)src, idx, 1);
			__m256i g1 = _mm256_i32gather_epi32((const int *)(src + size), idx, 1);
			__m256i fx = _mm256_and_si256(_mm256_srai_epi32(vsx, 8), ff);
			__m256i fy = _mm256_and_si256(_mm256_srai_epi32(vsy, 8), ff);
			__m256i p0 = _mm256_and_si256(g0, ff), p1 = _mm256_and_si256(_mm256_srli_epi32(g0, 8), ff);
			__m256i p2 = _mm256_and_si256(g1, ff), p3 = _mm256_and_si256(_mm256_srli_epi32(g1, 8), ff);
			__m256i top = _mm256_add_epi32(_mm256_slli_epi32(p0, 8), _mm256_mullo_epi32(_mm256_sub_epi32(p1, p0), fx));
			__m256i bot = _mm256_add_epi32(_mm256_slli_epi32(p2, 8), _mm256_mullo_epi32(_mm256_sub_epi32(p3, p2), fx));
			__m256i v = _mm256_add_epi32(_mm256_slli_epi32(top, 8), _mm256_mullo_epi32(_mm256_sub_epi32(bot, top), fy));
			__m256 f = _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), k), one);
			_mm256_storeu_ps(out + x, f);
		}
		vsx = _mm256_add_epi32(vsx, step_x);
		vsy = _mm256_add_epi32(vsy, step_y);
	}
	run_scalar(out + x, src, size, sx + (int32_t)x * ax, sy + (int32_t)x * ay, ax, ay, n - x);
}

static int have_avx2 = -1;

void ld_warp_u8(float *dst, const uint8_t *src, long size, const int32_t *rows, int32_t ax, int32_t ay) {
	if (have_avx2 < 0) have_avx2 = __builtin_cpu_supports("avx2");
	for (long y = 0; y < size; y++) {
		const int32_t *r = rows + 4 * y;
		float *out = dst + y * size + r[2];
		if (have_avx2)
			run_avx2(out, src, size, r[0], r[1], ax, ay, r[3]);
		else
			run_scalar(out, src, size, r[0], r[1], ax, ay, r[3]);
	}
}

void ld_noise(float *img, long size, long seg, const float *table, const int32_t *start, const float *scale) {
	long j = 0;
	for (long y = 0; y < size; y++) {
		float *row = img + y * size;
		for (long off = 0; off < size; off += seg, j++) {
			long n = size - off < seg ? size - off : seg;
			const float *t = table + start[j];
			float s = scale[j];
			float *p = row + off;
			for (long i = 0; i < n; i++) p[i] += s * t[i];
		}
	}
}
