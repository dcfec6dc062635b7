package coordinator

import (
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func vec(name string, vals ...float32) model.Tensor {
	return model.Tensor{Name: name, Shape: []int{len(vals)}, Data: vals}
}

func initW() model.Weights { return model.MustWeights(vec("w", 0, 0)) }

// testSpec is a train job of two rounds over sites a, b and c.
func testSpec() JobSpec {
	s := DefaultJobSpec()
	s.ID = "job1"
	s.Rounds = 2
	s.Quorum = 2
	s.Sites = []string{"a", "b", "c"}
	s.Deadlines = Deadlines{Select: Duration(10 * time.Second), Init: Duration(5 * time.Second), Train: Duration(20 * time.Second)}
	return s
}
