// Logistic regression (model/logreg) on the device. A batch is stored as
// B rows of D+1 values: the D features and a 1, so that one GEMV gives
// w.x + b with the bias as the weight vector's last entry.

// logreg_norm_input_f32: xn = g*x + c per feature (the norm layer), the
// trailing 1 kept.
__kernel void logreg_norm_input_f32(const int rows, const int d, __global const float* x, __global const float* g,
                                    __global const float* c, __global float* xn) {
	const int i = get_global_id(0);
	if (i >= rows * (d + 1)) return;
	const int j = i % (d + 1);
	xn[i] = j < d ? g[j] * x[i] + c[j] : 1.0f;
}

// logreg_norm_grad_f32: with gx = X^T delta over the raw rows (its last
// entry is sum(delta)), the norm layer's gradients are gg = w*gx and
// gc = w*sum(delta).
__kernel void logreg_norm_grad_f32(const int d, __global const float* w, __global const float* gx,
                                   __global float* gg, __global float* gc) {
	const int j = get_global_id(0);
	if (j >= d) return;
	gg[j] = w[j] * gx[j];
	gc[j] = w[j] * gx[d];
}
