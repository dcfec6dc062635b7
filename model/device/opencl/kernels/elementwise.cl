// Elementwise float32 ops and their gradients. One work-item per element;
// the global size is n (any value), the guard keeps padded launches safe.

__kernel void add_f32(const int n, __global const float* a, __global const float* b, __global float* out) {
	const int i = get_global_id(0);
	if (i < n) out[i] = a[i] + b[i];
}

__kernel void mul_f32(const int n, __global const float* a, __global const float* b, __global float* out) {
	const int i = get_global_id(0);
	if (i < n) out[i] = a[i] * b[i];
}

// mul_grad_f32: out = a*b, so da = dy*b and db = dy*a.
__kernel void mul_grad_f32(const int n, __global const float* a, __global const float* b, __global const float* dy,
                           __global float* da, __global float* db) {
	const int i = get_global_id(0);
	if (i < n) {
		const float g = dy[i];
		da[i] = g * b[i];
		db[i] = g * a[i];
	}
}

// silu_f32: out = x * sigmoid(x).
__kernel void silu_f32(const int n, __global const float* x, __global float* out) {
	const int i = get_global_id(0);
	if (i < n) {
		const float v = x[i];
		out[i] = v / (1.0f + exp(-v));
	}
}

// silu_grad_f32: d/dx x*s(x) = s(x) * (1 + x*(1 - s(x))).
__kernel void silu_grad_f32(const int n, __global const float* x, __global const float* dy, __global float* dx) {
	const int i = get_global_id(0);
	if (i < n) {
		const float v = x[i];
		const float s = 1.0f / (1.0f + exp(-v));
		dx[i] = dy[i] * s * (1.0f + v * (1.0f - s));
	}
}

// axpy_f32: y += alpha * x (SGD steps, FedProx terms).
__kernel void axpy_f32(const int n, const float alpha, __global const float* x, __global float* y) {
	const int i = get_global_id(0);
	if (i < n) y[i] += alpha * x[i];
}
