package secagg_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
)

// TestTranscriptHidesInputs records every byte the aggregator sends and
// receives, with dropouts that make it reconstruct keys, and checks that no
// site's encoded input appears in it: not as a run of consecutive elements
// anywhere, and not element-wise in the masked inputs beyond chance.
func TestTranscriptHidesInputs(t *testing.T) {
	r := newRound(t, 10, 512, 77)
	r.DropBefore = map[string]secagg.Phase{
		r.Context.Roster[0]: secagg.PhaseMaskedInput, // its pair masks get unmasked
		r.Context.Roster[1]: secagg.PhaseUnmask,      // its self mask gets unmasked
	}
	var transcript [][]byte
	var masked []*secagg.MaskedInput
	r.Record = func(dir secaggtest.Direction, site string, msg []byte) {
		transcript = append(transcript, msg)
		if m, err := secagg.Decode(msg); err == nil && m.Type() == secagg.TypeMaskedInput {
			masked = append(masked, m.(*secagg.MaskedInput))
		}
	}
	out, err := secaggtest.Run(r)
	if err != nil || out.Err != nil {
		t.Fatalf("round: %v %v", err, out.Err)
	}
	if len(masked) != 9 {
		t.Fatalf("recorded %d masked inputs, want 9", len(masked))
	}
	n := len(r.Context.Roster)
	for _, id := range r.Context.Roster {
		enc, _, err := secagg.Encode(r.Inputs[id], r.Context.Params, n)
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 4*len(enc))
		for i, v := range enc {
			binary.LittleEndian.PutUint32(raw[4*i:], v)
		}
		for off := 0; off+32 <= len(raw); off += 32 {
			for _, msg := range transcript {
				if bytes.Contains(msg, raw[off:off+32]) {
					t.Fatalf("transcript holds 8 consecutive encoded elements of %s at element %d", id, off/4)
				}
			}
		}
		for _, m := range masked {
			same := 0
			for i, v := range m.Data {
				if v == enc[i] {
					same++
				}
			}
			if same > 2 {
				t.Fatalf("masked input of %s matches %s's encoded input in %d of %d elements", m.From, id, same, len(enc))
			}
		}
	}
	// The round itself still sums correctly.
	want := ringSum(t, r, out.Result.Survivors)
	if !equalU32(out.Result.Ring, want) {
		t.Fatal("ring sum differs from the sum of encoded inputs")
	}
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
