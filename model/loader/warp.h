// Declarations of the augmentation kernels in warp.c (openblas tag, cgo).
#include <stdint.h>
// ld_warp_u8 samples the interior run of every output row from 8-bit
// pixels: rows[4*y..] = sx, sy (16.16 fixed point at the run's first
// pixel), x0, n; every position of a run has its four neighbours inside.
void ld_warp_u8(float *dst, const uint8_t *src, long size, const int32_t *rows, int32_t ax, int32_t ay);
// ld_noise adds scale[j]*table[start[j] + i] to the j-th run of seg pixels
// of each row (the last run of a row may be shorter).
void ld_noise(float *img, long size, long seg, const float *table, const int32_t *start, const float *scale);
