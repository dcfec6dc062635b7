// The sampling loop's update on the device, so that x_t stays there
// between denoising steps (model/ddpm's sampleBatch, Guide and FromV).

#define GS 256

// sum_pair stores a and b of every work-item in sc and sg and sums each
// over the GS work-items of the group (a tree, in a fixed order); the sums
// are in sc[0] and sg[0]. Every work-item of the group must call it.
void sum_pair(__local float* sc, __local float* sg, float a, float b, int lid) {
	sc[lid] = a;
	sg[lid] = b;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int s = GS / 2; s > 0; s >>= 1) {
		if (lid < s) {
			sc[lid] += sc[lid + s];
			sg[lid] += sg[lid + s];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
}

// guide_scale_f32: one work-group per image k of n: the guidance
// rescale factor f[k] = phi*std(cond)/std(guided) + (1-phi) of
// model/ddpm.Guide, with guided = c + w*(c - u), c = v[k] and u = v[n+k]
// (px values each); 1 when std(guided) is 0. Means first, then the
// squared deviations (two passes, as the host).
__kernel __attribute__((reqd_work_group_size(GS, 1, 1)))
void guide_scale_f32(const int n, const int px, const float w, const float phi, __global const float* v, __global float* f) {
	__local float sc[GS];
	__local float sg[GS];
	const int k = get_group_id(0);
	const int lid = get_local_id(0);
	__global const float* c = v + k * px;
	__global const float* u = v + (n + k) * px;
	float a = 0.0f, b = 0.0f;
	for (int i = lid; i < px; i += GS) {
		a += c[i];
		b += c[i] + w * (c[i] - u[i]);
	}
	sum_pair(sc, sg, a, b, lid);
	const float mc = sc[0] / (float)px, mg = sg[0] / (float)px;
	barrier(CLK_LOCAL_MEM_FENCE);
	a = 0.0f;
	b = 0.0f;
	for (int i = lid; i < px; i += GS) {
		const float g = c[i] + w * (c[i] - u[i]);
		a += (c[i] - mc) * (c[i] - mc);
		b += (g - mg) * (g - mg);
	}
	sum_pair(sc, sg, a, b, lid);
	if (lid == 0) {
		const float stdc = sqrt(sc[0] / (float)px), stdg = sqrt(sg[0] / (float)px);
		f[k] = stdg > 0.0f ? phi * stdc / stdg + (1.0f - phi) : 1.0f;
	}
}

// denoise_step_f32: one denoising step of n images of px values, in place
// in x. v holds the predictions: with guidance (doubled) the n conditional
// then the n unconditional ones, combined as (c + w*(c - u)) * f[k], and x
// holds two copies of the images (both are updated). From v:
// x0 = sa*x - s1a*v, eps = s1a*x + sa*v (x0 clamped to [-1, 1] when clip),
// then x' = c0*x0 + ce*eps + cx*x + sd*z (z: n*px noise, read when sd != 0).
__kernel void denoise_step_f32(const int n, const int px, const int doubled, const float w,
                               __global const float* f, __global const float* v, __global float* x,
                               const float sa, const float s1a, const int clip,
                               const float c0, const float ce, const float cx, const float sd, __global const float* z) {
	const int i = get_global_id(0);
	if (i >= n * px) return;
	const int k = i / px;
	float p = v[i];
	if (doubled) p = (p + w * (p - v[n * px + i])) * f[k];
	const float xi = x[i];
	float x0 = sa * xi - s1a * p;
	const float eps = s1a * xi + sa * p;
	if (clip) x0 = fmin(fmax(x0, -1.0f), 1.0f);
	float out = c0 * x0 + ce * eps + cx * xi;
	if (sd != 0.0f) out += sd * z[i];
	x[i] = out;
	if (doubled) x[n * px + i] = out;
}
