package secagg

import (
	"fmt"
	"io"
	"sort"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"
)

// splitSecret shares secret so that any threshold of the holders recover
// it. Holders are 0-based roster indices; the share ID is index+1 (Shamir
// IDs must be non-zero). circl's degree is the polynomial degree, so a
// threshold of t shares means degree t-1.
func splitSecret(rnd io.Reader, secret group.Scalar, threshold int, holders []int) map[int][]byte {
	ss := secretsharing.New(rnd, uint(threshold-1), secret)
	out := make(map[int][]byte, len(holders))
	id := ristretto.NewScalar()
	for _, h := range holders {
		sh := ss.ShareWithID(id.SetUint64(uint64(h + 1)))
		out[h] = scalarBytes(sh.Value)
	}
	return out
}

// recoverSecret rebuilds a secret from shares keyed by holder index. It
// refuses fewer than threshold shares, checks IDs for duplicates before
// circl sees them (duplicate IDs panic there), and decodes every value
// strictly. The caller must have checked each share against its commitment:
// Recover reads only the first threshold shares and does not detect a
// corrupt one.
func recoverSecret(threshold int, shares map[int][]byte) (group.Scalar, error) {
	if len(shares) < threshold {
		return nil, fmt.Errorf("%d shares, need %d: %w", len(shares), threshold, ErrTooFewSurvivors)
	}
	holders := make([]int, 0, len(shares))
	for h := range shares {
		holders = append(holders, h)
	}
	sort.Ints(holders)
	list := make([]secretsharing.Share, 0, threshold)
	seen := make(map[int]bool, threshold)
	for _, h := range holders[:threshold] {
		if h < 0 || seen[h] {
			return nil, fmt.Errorf("share ID %d: %w", h+1, ErrDuplicateShare)
		}
		seen[h] = true
		v := ristretto.NewScalar()
		if err := v.UnmarshalBinary(shares[h]); err != nil {
			return nil, fmt.Errorf("share ID %d: %w", h+1, ErrBadShare)
		}
		list = append(list, secretsharing.Share{ID: ristretto.NewScalar().SetUint64(uint64(h + 1)), Value: v})
	}
	return secretsharing.Recover(uint(threshold-1), list)
}
