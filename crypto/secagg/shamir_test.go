package secagg

import (
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/secretsharing"
)

// TestRecoverMatchesCircl checks our cached Lagrange recovery against
// circl's secretsharing.Recover on random secrets, thresholds and holder
// subsets, with one cache shared by every recovery as the aggregator does.
func TestRecoverMatchesCircl(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	cache := lagrangeCache{}
	for trial := range 40 {
		n := 2 + rng.IntN(30)
		th := 1 + rng.IntN(n)
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		secret, err := randScalar(seeded(uint64(trial)))
		if err != nil {
			t.Fatal(err)
		}
		shares := splitSecret(seeded(uint64(100+trial)), secret, th, all)
		// Any th or more holders, in random order of choice.
		rng.Shuffle(n, func(i, j int) { all[i], all[j] = all[j], all[i] })
		pick := all[:th+rng.IntN(n-th+1)]
		sub := map[int][]byte{}
		var list []secretsharing.Share
		for _, h := range pick {
			sub[h] = shares[h]
		}
		got, err := recoverSecret(th, sub, cache)
		if err != nil {
			t.Fatalf("trial %d (t=%d of %d, %d holders): %v", trial, th, n, len(pick), err)
		}
		// circl's reference on the first th holders by index, as ours uses.
		for h := range n {
			if len(list) == th {
				break
			}
			if v, ok := sub[h]; ok {
				s := ristretto.NewScalar()
				if err := s.UnmarshalBinary(v); err != nil {
					t.Fatal(err)
				}
				list = append(list, secretsharing.Share{ID: ristretto.NewScalar().SetUint64(uint64(h + 1)), Value: s})
			}
		}
		want, err := secretsharing.Recover(uint(th-1), list)
		if err != nil {
			t.Fatal(err)
		}
		if !got.IsEqual(want) || !got.IsEqual(secret) {
			t.Fatalf("trial %d (t=%d of %d): recovered secret differs from circl's / the original", trial, th, n)
		}
	}
	if len(cache) == 0 {
		t.Fatal("the Lagrange cache was never filled")
	}
}

// seeded is a deterministic randomness source for the test.
func seeded(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(key)
}
