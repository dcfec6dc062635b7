package coordinator

import (
	"testing"

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

// testSpec is a train job of two rounds over sites a, b and c, as an
// operator writes it.
func testSpec() JobSpec {
	s, err := DecodeJobSpec([]byte(`id = "job1"
kind = "train"
model = "logreg"
rounds = 2
quorum = 2
sites = ["a", "b", "c"]

[deadlines]
select = "10s"
init = "5s"
train = "20s"
`), "job1.toml")
	if err != nil {
		panic(err)
	}
	return s
}
