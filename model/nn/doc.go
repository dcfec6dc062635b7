// Package nn holds the fast neural-network ops of synthfed's model engines:
// gorgonia custom ops with hand-written CPU kernels for the layers of the
// conditional U-Net and the pathology classifier.
//
// # API note for model/ddpm and model/classifier
//
// Every function takes and returns *gorgonia.Node on one graph, float32 or
// float64 (all inputs of one op share a dtype). Tensors are NCHW; weight
// layouts are PyTorch's, so a PyTorch state_dict maps parameter for
// parameter:
//
//	Conv2D(x, w, stride, pad)          x (N,C,H,W), w (O,C,KH,KW) -> (N,O,OH,OW); no bias
//	Conv2DBias(x, w, b, stride, pad)   Conv2D + BiasAdd fused (nn.Conv2d with bias): saves a pass
//	NoGrad(x)                          detach: Conv2D(NoGrad(images), w, ...) skips the unused input gradient
//	Add(a, b)                          same-shape sum (residuals): parallel, buffer-reusing gorgonia.Add
//	BiasAdd(x, b)                      b (C) added per channel to x (N,C,...) : conv / linear bias
//	ChannelAdd(x, v)                   v (N,C) broadcast over H,W of x (N,C,H,W): time/cond embedding
//	GroupNorm(x, gamma, beta, groups, eps, silu)   gamma, beta (C); silu fuses SiLU after the affine
//	SiLU(x)                            any shape
//	Upsample2x(x)                      nearest, (N,C,H,W) -> (N,C,2H,2W)
//	GlobalAvgPool(x)                   (N,C,H,W) -> (N,C), with a gradient
//	ConcatChannels(a, b)               torch.cat([a, b], 1)
//	Linear(x, w, b)                    x (N,In), w (Out,In), b (Out) or nil
//	Attention(q, k, v)                 (N,L,d) or (N,heads,L,d), softmax(q k^T/sqrt d) v
//	SelfAttention2D(qkv, heads)        qkv (N,3C,H,W) from a 1x1 conv -> (N,C,H,W), no transposes
//	BCEWithLogitsMasked(l, t, mask)    scalar sum(mask*bce)/sum(mask) over mask > 0
//	MSE(a, b)                          scalar mean((a-b)^2)
//
// Build the loss, call gorgonia.Grad (or NewTapeMachine with BindDualValues)
// and run a gorgonia.TapeMachine as usual; gorgonia's own ops (Add, Mul,
// Reshape...) mix freely with these. Shapes, including the batch size, are
// fixed when the graph is built: build one graph per batch size (for
// example one for training, one for sampling).
//
// # Contract
//
//   - Each op checks its input shapes and dtypes at graph build and returns
//     an error wrapping ErrShape, ErrDtype or ErrArg that names the op and
//     the shapes; nothing panics on bad shapes.
//   - Every op has a hand-written backward, built as gorgonia nodes by
//     SymDiff, so gorgonia.Grad and the TapeMachine differentiate through
//     them. Backward nodes are not themselves differentiable (no
//     second-order gradients).
//   - Each op node owns its output buffer and overwrites it on every run, so
//     a training step allocates almost nothing. As with gorgonia's own
//     register reuse, copy a node's value (gorgonia.Read, or clone) if you
//     need it after the next run. A graph must not be run by two machines
//     at once; separate graphs may run concurrently.
//   - Kernels run on Config.Threads workers (default GOMAXPROCS), each
//     calling a single-threaded GEMM: OpenBLAS when built with the openblas
//     tag (scripts/blas-tags.sh), pure Go otherwise. With that tag (which
//     implies cgo) float32 convolutions, GroupNorm and SiLU also run C
//     SIMD kernels (native.c; AVX2+FMA, detected at start-up, with the Go
//     kernels as the fallback and the reference). Results agree across
//     builds to rounding, and are bit-identical from run to run on one
//     build and thread count.
//   - The compute sits behind the Kernels interface, captured by each op at
//     graph build (UseKernels), so a device kernel set can be added later
//     without changing the graph API.
//   - The package logs nothing.
//
// gorgonia v0.9.18 ops this package replaces because they are slow or wrong
// (see DESIGN.md): Conv2D/im2col, GroupNorm (fixed batch, logs every
// step), GlobalAveragePool2D (no gradient), AveragePool2D (wrong
// backward), broadcast adds, and reductions over axis 2 of 4-D tensors.
//
// # Where things are
//
// The ops (graph API, shape checks, the backward as gorgonia nodes):
//   - conv.go (Conv2D, Conv2DBias), groupnorm.go, activation.go (SiLU),
//     bias.go (BiasAdd, ChannelAdd), add.go, concat.go, resample.go
//     (Upsample2x, GlobalAvgPool), linear.go, attention.go, loss.go (BCE,
//     MSE), nograd.go; opbase.go: what every op node shares.
//
// The compute behind them:
//   - kernels.go: the Kernels interface the ops capture at graph build;
//   - conv_kernel.go, conv_taps.go, conv_direct.go: convolutions without
//     im2col; norm_kernel.go: GroupNorm; linear_kernel.go,
//     attention_kernel.go, elementwise_kernel.go: the other kernels;
//   - gemm.go with gemm_go.go or gemm_openblas.go (the openblas tag): the
//     single-threaded GEMM; native_cgo.go and native.c/native.h: the C SIMD
//     kernels (native_none.go without them); fast32.go, mathx.go: float32
//     fast paths and math;
//   - parallel.go: the worker pool; config.go: Config (threads).
package nn
