// Losses as model/nn has them, each a single work-group reduction of RED
// work-items (the trip counts are uniform, so every barrier is reached by
// the whole group) that writes its scalars at out[at...]: the step programs
// keep a whole run's losses in one device buffer and read it once.

#define RED 256

// reduce2: sums a and b over the work-group; work-item 0 gets the totals.
inline void reduce2(__local float* sa, __local float* sb, float a, float b) {
	const int lid = get_local_id(0);
	sa[lid] = a;
	sb[lid] = b;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int k = RED / 2; k > 0; k >>= 1) {
		if (lid < k) {
			sa[lid] += sa[lid + k];
			sb[lid] += sb[lid + k];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
}

// bce_masked_f32: out[at] = sum(m*bce(l,t))/sum(m) over m > 0 (0 when no
// entry counts), out[at+1] = sum(m) over m > 0; bce computed stably as
// max(l,0) - l*t + log(1+e^-|l|).
__kernel __attribute__((reqd_work_group_size(RED, 1, 1)))
void bce_masked_f32(const int n, __global const float* l, __global const float* t, __global const float* m,
                    __global float* out, const int at) {
	__local float sl[RED];
	__local float sw[RED];
	float s = 0.0f, w = 0.0f;
	for (int i = get_local_id(0); i < n; i += RED) {
		const float mi = m[i];
		if (mi > 0.0f) {
			const float x = l[i];
			s += mi * (fmax(x, 0.0f) - x * t[i] + log1p(exp(-fabs(x))));
			w += mi;
		}
	}
	reduce2(sl, sw, s, w);
	if (get_local_id(0) == 0) {
		out[at] = sw[0] > 0.0f ? sl[0] / sw[0] : 0.0f;
		out[at + 1] = sw[0];
	}
}

// bce_masked_grad_f32: dl = g * m*(sigmoid(l) - t)/sum(m) for m > 0, else
// 0, with sum(m) from bce_masked_f32's stats[at+1].
__kernel void bce_masked_grad_f32(const int n, const float g, __global const float* l, __global const float* t,
                                  __global const float* m, __global const float* stats, const int at, __global float* dl) {
	const int i = get_global_id(0);
	if (i >= n) return;
	const float w = stats[at + 1];
	const float mi = m[i];
	if (!(mi > 0.0f) || !(w > 0.0f)) {
		dl[i] = 0.0f;
		return;
	}
	const float s = 1.0f / (1.0f + exp(-l[i]));
	dl[i] = g / w * mi * (s - t[i]);
}

// mse_f32: out[at] = mean((a-b)^2).
__kernel __attribute__((reqd_work_group_size(RED, 1, 1)))
void mse_f32(const int n, __global const float* a, __global const float* b, __global float* out, const int at) {
	__local float sa[RED];
	__local float sb[RED];
	float s = 0.0f;
	for (int i = get_local_id(0); i < n; i += RED) {
		const float d = a[i] - b[i];
		s += d * d;
	}
	reduce2(sa, sb, s, 0.0f);
	if (get_local_id(0) == 0) out[at] = sa[0] / (float)n;
}

// mse_grad_f32: da = 2g(a-b)/n, and db = -da when wantB.
__kernel void mse_grad_f32(const int n, const float g, __global const float* a, __global const float* b,
                           __global float* da, const int wantB, __global float* db) {
	const int i = get_global_id(0);
	if (i >= n) return;
	const float d = 2.0f * g / (float)n * (a[i] - b[i]);
	da[i] = d;
	if (wantB) db[i] = -d;
}
