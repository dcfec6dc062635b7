// Package device chooses where a site trains: the CPU path (model/nn's
// kernels) or an OpenCL device (model/device/opencl), from a site config's
// [compute] section (Config). Select opens the device, builds synthfed's
// kernels on it (a failed build is a device that does not work), and
// returns a Backend that the agent reports (site-agent --check, /metrics)
// and that trainers run on.
//
// "auto" takes the first OpenCL GPU or accelerator whose kernels build and
// falls back to the CPU with one log line when there is none. When the ICD
// vendor folder holds nothing or only pocl, it decides without loading any
// OpenCL library (loading pocl costs each agent process LLVM's memory). It does not
// take an OpenCL device of CPU type (pocl): on the same cores the native
// CPU path is 30-50x faster (BenchmarkSGEMM in model/device/opencl). Such a
// device is used only when named ("opencl:N"), as CI does to test the
// kernels.
//
// A Backend on a device is a graph.Device: it compiles a model's gorgonia
// graph (built by model/graph, differentiated by gorgonia) into a Program
// that runs the graph's nodes with the device kernels, every value in a
// device buffer (nn.Describe says what each model/nn op is; buffers are
// shared between values whose lifetimes do not overlap). TrainStep keeps
// a training step resident: the weights, gradients, AdamW moments, EMA and
// FedProx anchor stay on the device, each step moves its batch in and its
// loss out, and Sync brings the state back at a round's end. Forward is
// the forward pass, and with graph.Sampling a diffusion sampler's loop
// with the images kept on the device. Kernels runs the same ops one at a
// time with copies to and from the host (runOp is the one implementation
// of each op on buffers for both).
//
// Job and Backend.Fits refuse a training job whose estimated memory does
// not fit the device's memory cap, with an error that names the model and
// the batch size, before anything is allocated.
package device
