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
// refuses fewer than threshold shares, checks IDs for duplicates, and
// decodes every value strictly. The caller must have checked each share
// against its commitment: recovery reads only the first threshold shares
// (by holder index) and does not detect a corrupt one. coeffs caches the
// Lagrange coefficients per holder set (nil: no cache), since an aggregator
// rebuilds many secrets from the same holders.
func recoverSecret(threshold int, shares map[int][]byte, coeffs lagrangeCache) (group.Scalar, error) {
	if threshold < 1 || len(shares) < threshold {
		return nil, fmt.Errorf("%d shares, need %d: %w", len(shares), threshold, ErrTooFewSurvivors)
	}
	holders := make([]int, 0, len(shares))
	for h := range shares {
		if h < 0 {
			return nil, fmt.Errorf("share ID %d: %w", h+1, ErrDuplicateShare)
		}
		holders = append(holders, h)
	}
	sort.Ints(holders) // map keys are distinct, so the IDs are too
	holders = holders[:threshold]
	lambda := coeffs.get(holders)
	secret, v := ristretto.NewScalar(), ristretto.NewScalar()
	for i, h := range holders {
		if err := v.UnmarshalBinary(shares[h]); err != nil {
			return nil, fmt.Errorf("share ID %d: %w", h+1, ErrBadShare)
		}
		secret.Add(secret, v.Mul(v, lambda[i]))
	}
	return secret, nil
}

// lagrangeCache holds the Lagrange coefficients at zero of holder sets,
// keyed by the sorted holder indices.
type lagrangeCache map[string][]group.Scalar

// get returns the coefficients of the sorted, distinct holders, computing
// and storing them on a miss (a nil cache computes without storing).
func (c lagrangeCache) get(holders []int) []group.Scalar {
	key := fmt.Sprint(holders)
	if l, ok := c[key]; ok {
		return l
	}
	l := lagrangeAtZero(holders)
	if c != nil {
		c[key] = l
	}
	return l
}

// lagrangeAtZero returns, for share IDs x_i = holder_i+1, the coefficients
// l_i = prod_{j != i} x_j / (x_j - x_i), so that f(0) = sum_i l_i f(x_i) for
// any polynomial f of degree below len(holders).
func lagrangeAtZero(holders []int) []group.Scalar {
	xs := make([]group.Scalar, len(holders))
	for i, h := range holders {
		xs[i] = ristretto.NewScalar().SetUint64(uint64(h + 1))
	}
	out := make([]group.Scalar, len(holders))
	diff := ristretto.NewScalar()
	for i := range xs {
		num := ristretto.NewScalar().SetUint64(1)
		den := ristretto.NewScalar().SetUint64(1)
		for j := range xs {
			if j == i {
				continue
			}
			num.Mul(num, xs[j])
			den.Mul(den, diff.Sub(xs[j], xs[i]))
		}
		out[i] = num.Mul(num, den.Inv(den))
	}
	return out
}
