package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testArch is a two-tensor architecture whose config gives the sizes.
const testArch = "test-linear/1"

type testArchConfig struct {
	In, Out int
}

func init() {
	RegisterArch(testArch, func(cfg []byte) ([]TensorSpec, error) {
		var c testArchConfig
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrConfig)
		}
		if c.In <= 0 || c.Out <= 0 {
			return nil, fmt.Errorf("sizes %d,%d: %w", c.In, c.Out, ErrConfig)
		}
		return []TensorSpec{{Name: "fc.bias", Shape: []int{c.Out}}, {Name: "fc.weight", Shape: []int{c.Out, c.In}}}, nil
	})
}

func testCheckpoint() Checkpoint {
	w := MustWeights(
		Tensor{Name: "fc.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 1e-30, -0, 7}},
		Tensor{Name: "fc.bias", Shape: []int{2}, Data: []float32{0.25, -1}},
	)
	ema := w.Clone()
	ema.Tensors()[0].Data[0] = 9
	return Checkpoint{
		Arch: testArch, Config: json.RawMessage(`{"In":3,"Out":2}`), Step: 42,
		Weights: w, EMA: ema, EMADecay: 0.999, EMASteps: 40,
		Extra: map[string]string{"seed": "7"},
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := testCheckpoint()
	b, err := EncodeCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(b)
	if hlen%8 != 0 {
		t.Errorf("header length %d not padded to 8", hlen)
	}
	got, err := DecodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Weights.Hash() != c.Weights.Hash() || got.EMA.Hash() != c.EMA.Hash() {
		t.Fatal("weights changed in the round trip")
	}
	if got.Step != 42 || got.EMADecay != 0.999 || got.EMASteps != 40 || got.Extra["seed"] != "7" || got.Arch != testArch {
		t.Fatalf("metadata changed: %+v", got)
	}
	if string(got.Config) != string(c.Config) {
		t.Fatalf("config %s", got.Config)
	}

	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := WriteCheckpointFile(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCheckpointFile(path)
	if err != nil || back.Weights.Hash() != c.Weights.Hash() {
		t.Fatalf("file round trip: %v", err)
	}
}

func TestSafetensorsRoundTripScalar(t *testing.T) {
	w := MustWeights(Tensor{Name: "s", Shape: []int{}, Data: []float32{3}}, Tensor{Name: "v", Shape: []int{1, 1, 2}, Data: []float32{1, 2}})
	b, err := EncodeSafetensors(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := DecodeSafetensors(b)
	if err != nil || meta != nil || got.Hash() != w.Hash() {
		t.Fatalf("round trip: %v %v", err, meta)
	}
}

// rawFile builds a safetensors buffer from a literal header and body.
func rawFile(header string, body []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, body...)
}

func TestCheckpointRefusesBadInput(t *testing.T) {
	good, err := EncodeCheckpoint(testCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	wrongShape := testCheckpoint()
	wrongShape.Config = json.RawMessage(`{"In":2,"Out":3}`)
	wrongShapeB, _ := EncodeCheckpoint(wrongShape)
	unknown := testCheckpoint()
	unknown.Arch = "resnet-9000"
	unknownB, _ := EncodeCheckpoint(unknown)
	badCfg := testCheckpoint()
	badCfg.Config = json.RawMessage(`{"In":0,"Out":2}`)
	badCfgB, _ := EncodeCheckpoint(badCfg)
	extra := testCheckpoint()
	extra.Weights = MustWeights(append(extra.Weights.Clone().Tensors(), Tensor{Name: "stray", Shape: []int{1}, Data: []float32{1}})...)
	extraB, _ := EncodeCheckpoint(extra)
	body8 := make([]byte, 8)

	cases := []struct {
		name string
		data []byte
		want error
		text string
	}{
		{"empty", nil, ErrFormat, "shorter"},
		{"truncated body", good[:len(good)-5], ErrFormat, `"fc.weight"`},
		{"truncated header", good[:20], ErrFormat, "truncated"},
		{"wrong shape", wrongShapeB, ErrShape, `"fc.weight"`},
		{"unknown arch", unknownB, ErrUnknownArch, "resnet-9000"},
		{"bad config", badCfgB, ErrConfig, testArch},
		{"unexpected tensor", extraB, ErrMissing, `"stray"`},
		{"dtype", rawFile(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, body8), ErrFormat, `"a"`},
		{"shape vs bytes", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, body8), ErrShape, `"a"`},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), ErrFormat, `"a"`},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, body8), ErrFormat, `"a"`},
		{"duplicate", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, body8), ErrDuplicate, `"a"`},
		{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, body8), ErrFormat, "cover"},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, body8), ErrFormat, `"a"`},
		{"not object", rawFile(`[1]`, nil), ErrFormat, "object"},
		{"not checkpoint", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, body8), ErrFormat, "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCheckpoint(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %q does not mention %s", err, tc.text)
			}
		})
	}
}

// pyReader is a Python reader of the safetensors layout written against
// the public specification with numpy only (Python's safetensors package
// is not installed here). It prints name, shape and sum for each tensor,
// then writes its own file for Go to read back.
const pyReader = `
import json, struct, sys
import numpy as np
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
assert n % 8 == 0, "header not 8-aligned"
hdr = json.loads(data[8:8+n])
body = data[8+n:]
meta = hdr.pop("__metadata__")
assert meta["format"] == "synthfed-checkpoint/1" and meta["step"] == "42", meta
json.loads(meta["config"])
end = 0
for name in sorted(hdr, key=lambda k: hdr[k]["data_offsets"][0]):
    e = hdr[name]
    b, f = e["data_offsets"]
    assert b == end, name
    end = f
    a = np.frombuffer(body[b:f], dtype="<f4").reshape(e["shape"])
    print(name, list(a.shape), repr(float(a.astype(np.float64).sum())))
assert end == len(body)
t = {"x.weight": np.arange(6, dtype="<f4").reshape(2, 3) / 4, "x.bias": np.array([-1.5, 2.0], dtype="<f4")}
h, blobs, off = {"__metadata__": {"k": "v"}}, [], 0
for k in sorted(t):
    raw = t[k].tobytes()
    h[k] = {"dtype": "F32", "shape": list(t[k].shape), "data_offsets": [off, off + len(raw)]}
    off += len(raw)
    blobs.append(raw)
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
`

func TestSafetensorsWithPython(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("numpy missing")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "go.safetensors"), filepath.Join(dir, "py.safetensors")
	if err := WriteCheckpointFile(in, testCheckpoint()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pyReader, in, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	want := "ema/fc.bias [2] 8.0\nema/fc.weight [2, 3] 9.5\nfc.bias [2] -0.75\nfc.weight [2, 3] 9.5\n"
	if string(stdout) != want {
		t.Fatalf("python read\n%s\nwant\n%s", stdout, want)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	w, meta, err := DecodeSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := w.Get("x.weight")
	bias, _ := w.Get("x.bias")
	if meta["k"] != "v" || x.Data[5] != 1.25 || x.Shape[1] != 3 || bias.Data[0] != -1.5 {
		t.Fatalf("python file decoded as %v %v %v", meta, x, bias)
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	good, _ := EncodeCheckpoint(testCheckpoint())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"__metadata__":{"format":"x"}}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, meta, err := DecodeSafetensors(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes to the
		// same weights.
		again, err := EncodeSafetensors(w, meta)
		if err != nil {
			return // e.g. a tensor called __metadata__ cannot arise; be lenient
		}
		w2, _, err := DecodeSafetensors(again)
		if err != nil || w2.Hash() != w.Hash() {
			t.Fatalf("re-encode: %v", err)
		}
		_, _ = DecodeCheckpoint(data)
	})
}
