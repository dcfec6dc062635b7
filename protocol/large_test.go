package protocol

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// largeServer streams a generated model of n values without ever holding
// it: values are produced 1 MiB at a time.
type largeServer struct {
	fedpb.UnimplementedFederationServer
	specs []model.TensorSpec
	hash  chan string
}

func (s *largeServer) DownloadModel(req *fedpb.DownloadRequest, stream fedpb.Federation_DownloadModelServer) error {
	w, err := NewStreamWriter(s.specs, int(req.GetChunkSize()), stream.Send)
	if err != nil {
		return err
	}
	buf := make([]float32, 1<<18)
	for _, sp := range s.specs {
		n, _ := model.NumElements(sp.Shape)
		for off := 0; off < n; off += len(buf) {
			k := min(len(buf), n-off)
			for i := range buf[:k] {
				buf[i] = float32(off+i) * 1e-3
			}
			if err := w.Write(buf[:k]); err != nil {
				return err
			}
		}
	}
	h, err := w.Close()
	s.hash <- h
	return err
}

// streamModel serves specs over bufconn with gRPC's default message limits
// and receives them with a discarding Reassembler.
func streamModel(tb testing.TB, specs []model.TensorSpec) (string, string, int) {
	lis := bufconn.Listen(4 << 20)
	srv := grpc.NewServer() // default 4 MiB receive limit, untouched
	ls := &largeServer{specs: specs, hash: make(chan string, 1)}
	fedpb.RegisterFederationServer(srv, ls)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stream, err := fedpb.NewFederationClient(conn).DownloadModel(ctx, &fedpb.DownloadRequest{SessionId: "s", ModelHash: "h"})
	if err != nil {
		tb.Fatal(err)
	}
	re := NewReassembler(DefaultLimits())
	re.Discard()
	chunks := 0
	for !re.Done() {
		c, err := stream.Recv()
		if err != nil {
			tb.Fatal(err)
		}
		if err := re.Add(c); err != nil {
			tb.Fatal(err)
		}
		chunks++
	}
	return re.Hash(), <-ls.hash, chunks
}

// TestStream200MB sends a 200 MB model (52,428,800 float32 values in two
// tensors) through a server stream under gRPC's default 4 MiB message
// limit. Neither side holds the model: the sender generates it and the
// receiver checks and hashes it as it passes. Under the race detector it
// sends 24 MiB (still six times the message limit).
func TestStream200MB(t *testing.T) {
	rows := 49
	if raceEnabled {
		rows = 5
	}
	specs := []model.TensorSpec{{Name: "a", Shape: []int{rows, 1 << 20}}, {Name: "b", Shape: []int{1 << 20}}}
	start := time.Now()
	got, sent, chunks := streamModel(t, specs)
	if got != sent {
		t.Fatalf("received hash %s, sent %s", got, sent)
	}
	mib := 4 * (rows + 1)
	if want := mib + 2; chunks != want { // 1 MiB data chunks, header, trailer
		t.Fatalf("%d chunks, want %d", chunks, want)
	}
	t.Logf("%d MiB in %v (%.0f MiB/s)", mib, time.Since(start), float64(mib)/time.Since(start).Seconds())
}

// BenchmarkStream200MB is TestStream200MB's full-size transfer as a benchmark.
func BenchmarkStream200MB(b *testing.B) {
	specs := []model.TensorSpec{{Name: "a", Shape: []int{49, 1 << 20}}, {Name: "b", Shape: []int{1 << 20}}}
	b.SetBytes(200 << 20)
	for i := 0; i < b.N; i++ {
		if got, sent, _ := streamModel(b, specs); got != sent {
			b.Fatal("hash mismatch")
		}
	}
}

// BenchmarkRoundTripWeights200MB encodes real 200 MB Weights, streams them
// over bufconn and reassembles them into Weights, checking the hash.
func BenchmarkRoundTripWeights200MB(b *testing.B) {
	data := make([]float32, 50<<20)
	for i := range data {
		data[i] = float32(i) * 1e-3
	}
	w := model.MustWeights(model.Tensor{Name: "a", Shape: []int{50, 1 << 20}, Data: data})
	want := w.Hash()
	b.SetBytes(200 << 20)
	for i := 0; i < b.N; i++ {
		var chunks []*fedpb.Chunk
		re := NewReassembler(DefaultLimits())
		if _, err := SendWeights(w, DefaultChunkSize, func(c *fedpb.Chunk) error { chunks = append(chunks, c); return re.Add(c) }); err != nil {
			b.Fatal(err)
		}
		got, err := re.Weights()
		if err != nil || got.Hash() != want {
			b.Fatalf("round trip: %v", err)
		}
	}
}
