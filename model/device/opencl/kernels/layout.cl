// Broadcast, layout and pooling ops of model/nn, one work-item per output
// value (the guard keeps padded launches safe). Semantics follow
// model/nn/elementwise_kernel.go.

// channel_add_f32: y[n,c,:] = x[n,c,:] + b[c] (or b[n,c] when perSample).
__kernel void channel_add_f32(const int n, const int c, const int hw, const int perSample,
                              __global const float* x, __global const float* b, __global float* y) {
	const int i = get_global_id(0);
	if (i >= n * c * hw) return;
	const int nc = i / hw;
	y[i] = x[i] + (perSample ? b[nc] : b[nc % c]);
}

// channel_sum_f32: db[c] = sum over n and hw of dy (or db[n,c] = sum over
// hw when perSample); one work-item per output, summing in a fixed order.
__kernel void channel_sum_f32(const int n, const int c, const int hw, const int perSample,
                              __global const float* dy, __global float* db) {
	const int o = get_global_id(0);
	if (o >= (perSample ? n * c : c)) return;
	float s = 0.0f;
	if (perSample) {
		for (int i = 0; i < hw; i++) s += dy[o * hw + i];
	} else {
		for (int k = 0; k < n; k++)
			for (int i = 0; i < hw; i++) s += dy[(k * c + o) * hw + i];
	}
	db[o] = s;
}

// upsample2x_f32: each x (planes, h, w) value fills a 2x2 block of y.
__kernel void upsample2x_f32(const int planes, const int h, const int w, __global const float* x, __global float* y) {
	const int i = get_global_id(0);
	if (i >= planes * 4 * h * w) return;
	const int pl = i / (4 * h * w), r = i % (4 * h * w);
	const int yi = r / (2 * w), yj = r % (2 * w);
	y[i] = x[(pl * h + yi / 2) * w + yj / 2];
}

// upsample2x_grad_f32: dx sums each 2x2 block of dy.
__kernel void upsample2x_grad_f32(const int planes, const int h, const int w, __global const float* dy, __global float* dx) {
	const int i = get_global_id(0);
	if (i >= planes * h * w) return;
	const int pl = i / (h * w), r = i % (h * w);
	const int xi = r / w, xj = r % w;
	__global const float* d = dy + pl * 4 * h * w;
	const int r0 = (2 * xi) * 2 * w + 2 * xj, r1 = r0 + 2 * w;
	dx[i] = d[r0] + d[r0 + 1] + d[r1] + d[r1 + 1];
}

// avgpool_f32: y[p] = mean of plane p (hw values).
__kernel void avgpool_f32(const int planes, const int hw, __global const float* x, __global float* y) {
	const int p = get_global_id(0);
	if (p >= planes) return;
	float s = 0.0f;
	for (int i = 0; i < hw; i++) s += x[p * hw + i];
	y[p] = s / (float)hw;
}

// avgpool_grad_f32: dx[p,:] = dy[p]/hw.
__kernel void avgpool_grad_f32(const int planes, const int hw, __global const float* dy, __global float* dx) {
	const int i = get_global_id(0);
	if (i < planes * hw) dx[i] = dy[i / hw] / (float)hw;
}

// concat_f32: each of outer rows of y is a's row (na) then b's row (nb).
__kernel void concat_f32(const int outer, const int na, const int nb, __global const float* a, __global const float* b,
                         __global float* y) {
	const int i = get_global_id(0);
	if (i >= outer * (na + nb)) return;
	const int r = i / (na + nb), j = i % (na + nb);
	y[i] = j < na ? a[r * na + j] : b[r * nb + j - na];
}

// slice_rows_f32: dx's rows are values [lo, hi) of dy's rows of width w.
__kernel void slice_rows_f32(const int outer, const int w, const int lo, const int hi, __global const float* dy,
                             __global float* dx) {
	const int i = get_global_id(0);
	const int n = hi - lo;
	if (i >= outer * n) return;
	dx[i] = dy[(i / n) * w + lo + i % n];
}

// sum_batch_f32: y[i] = sum over b < batch of x[b*len + i], in order.
__kernel void sum_batch_f32(const int batch, const int len, __global const float* x, __global float* y) {
	const int i = get_global_id(0);
	if (i >= len) return;
	float s = 0.0f;
	for (int b = 0; b < batch; b++) s += x[b * len + i];
	y[i] = s;
}
