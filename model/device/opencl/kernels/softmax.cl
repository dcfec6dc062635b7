// Row softmax and its backward for attention, one work-item per row of n
// values (rows = batch x heads x tokens, plenty of parallel work).

// softmax_rows_f32: s[r,:] = softmax(s[r,:]) in place, max-subtracted.
__kernel void softmax_rows_f32(const int rows, const int n, __global float* s) {
	const int r = get_global_id(0);
	if (r >= rows) return;
	__global float* x = s + (long)r * n;
	float mx = x[0];
	for (int j = 1; j < n; j++) mx = fmax(mx, x[j]);
	float sum = 0.0f;
	for (int j = 0; j < n; j++) {
		const float e = exp(x[j] - mx);
		x[j] = e;
		sum += e;
	}
	const float inv = 1.0f / sum;
	for (int j = 0; j < n; j++) x[j] *= inv;
}

// softmax_grad_rows_f32: with p the softmax output and d = dL/dp, turns d
// into dL/ds = p*(d - sum(p*d)) in place.
__kernel void softmax_grad_rows_f32(const int rows, const int n, __global const float* p, __global float* d) {
	const int r = get_global_id(0);
	if (r >= rows) return;
	__global const float* pr = p + (long)r * n;
	__global float* dr = d + (long)r * n;
	float dot = 0.0f;
	for (int j = 0; j < n; j++) dot += pr[j] * dr[j];
	for (int j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - dot);
}
