package dataset

import (
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func TestConditionLayout(t *testing.T) {
	labels := [model.NumLabels]model.Label{P, N, U, B, P, B, B, B, B, B, B, B, B, U}
	tests := []struct {
		name string
		rec  Record
		u    UncertainPolicy
		want [model.CondDim]float32
	}{
		{name: "male white zeros", rec: Record{Age: 67, Sex: SexMale, Race: RaceWhite, Labels: labels}, u: UncertainZeros,
			want: [model.CondDim]float32{6, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{name: "female asian ones", rec: Record{Age: 9, Sex: SexFemale, Race: RaceAsian, Labels: labels}, u: UncertainOnes,
			want: [model.CondDim]float32{0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{name: "unknown sex and race keep", rec: Record{Age: 90, Labels: labels}, u: UncertainKeep,
			want: [model.CondDim]float32{9, 0, 0, 0, 0, 0, 0, 0, 1, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, -1}},
		{name: "AIAN", rec: Record{Age: 30, Race: RaceAIAN}, u: UncertainZeros,
			want: [model.CondDim]float32{3, 0, 0, 1}},
		{name: "Black", rec: Record{Age: 30, Race: RaceBlack}, u: UncertainZeros,
			want: [model.CondDim]float32{3, 0, 0, 0, 1}},
		{name: "NHPI", rec: Record{Age: 30, Race: RaceNHPI}, u: UncertainZeros,
			want: [model.CondDim]float32{3, 0, 0, 0, 0, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.ConditionWith(tc.u); got != tc.want {
				t.Fatalf("condition\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	r := Record{Age: 45, Sex: SexMale, Labels: labels}
	if r.Condition() != r.ConditionWith(UncertainZeros) {
		t.Error("Condition is not ConditionWith(UncertainZeros)")
	}
}

func TestParseLabel(t *testing.T) {
	tests := []struct {
		in   string
		want model.Label
		bad  bool
	}{
		{"1.0", P, false}, {"1", P, false}, {"0.0", N, false}, {"0", N, false}, {"-1.0", U, false}, {"-1", U, false},
		{"", B, false}, {" ", B, false}, {"nan", B, false}, {"2.0", B, true}, {"yes", B, true}, {"0.5", B, true}, {"-2", B, true},
	}
	for _, tc := range tests {
		got, err := ParseLabel(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseLabel(%q) = %v, %v; want %v, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseSexAndView(t *testing.T) {
	for in, want := range map[string]Sex{"Male": SexMale, "F": SexFemale, "female": SexFemale, "Unknown": SexUnknown, "": SexUnknown} {
		if got, ok := ParseSex(in); !ok || got != want {
			t.Errorf("ParseSex(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseSex("X"); ok {
		t.Error("ParseSex(X) accepted")
	}
	if v, ok := ParseView("frontal"); !ok || v != ViewFrontal {
		t.Error("ParseView(frontal)")
	}
	if _, ok := ParseView("AP"); ok {
		t.Error("ParseView(AP) accepted")
	}
}

func TestMapRace(t *testing.T) {
	tests := []struct {
		in    string
		want  Race
		known bool
	}{
		{"White", RaceWhite, true},
		{"White, non-Hispanic", RaceWhite, true},
		{"White or Caucasian", RaceWhite, true},
		{"WHITE - OTHER EUROPEAN", RaceWhite, true},
		{"Black or African American", RaceBlack, true},
		{"Black, Hispanic", RaceBlack, true},
		{"BLACK/CAPE VERDEAN", RaceBlack, true},
		{"African American", RaceBlack, true},
		{"Asian - Historical Conv", RaceAsian, true},
		{"ASIAN - SOUTH EAST ASIAN", RaceAsian, true},
		{"Native Hawaiian or Other Pacific Islander", RaceNHPI, true},
		{"Pacific Islander, non-Hispanic", RaceNHPI, true},
		{"American Indian or Alaska Native", RaceAIAN, true},
		{"AMERICAN INDIAN/ALASKA NATIVE", RaceAIAN, true},
		{"American Indian/Alaskan Native", RaceAIAN, true},
		{"Native American, Hispanic", RaceAIAN, true},
		{"Other", RaceUnknown, true},
		{"Other, Hispanic", RaceUnknown, true},
		{"HISPANIC/LATINO - PUERTO RICAN", RaceUnknown, true},
		{"PATIENT DECLINED TO ANSWER", RaceUnknown, true},
		{"Race and Ethnicity Unknown", RaceUnknown, true},
		{"", RaceUnknown, true},
		{"Martian", RaceUnknown, false},
	}
	for _, tc := range tests {
		got, known := MapRace(tc.in)
		if got != tc.want || known != tc.known {
			t.Errorf("MapRace(%q) = %v, %v; want %v, %v", tc.in, got, known, tc.want, tc.known)
		}
	}
}

func TestResolveRace(t *testing.T) {
	tests := []struct {
		in       []string
		want     Race
		conflict bool
	}{
		{[]string{"WHITE", "UNKNOWN", "WHITE - RUSSIAN"}, RaceWhite, false},
		{[]string{"UNABLE TO OBTAIN", "ASIAN"}, RaceAsian, false},
		{[]string{"BLACK/AFRICAN AMERICAN", "WHITE"}, RaceUnknown, true},
		{[]string{"OTHER", "UNKNOWN"}, RaceUnknown, false},
		{nil, RaceUnknown, false},
	}
	for _, tc := range tests {
		got, conflict, _ := ResolveRace(tc.in)
		if got != tc.want || conflict != tc.conflict {
			t.Errorf("ResolveRace(%q) = %v, %v; want %v, %v", tc.in, got, conflict, tc.want, tc.conflict)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Size: 0, MinAge: -1, MaxAge: 500, Workers: -2, CacheMemoryMB: -1, Uncertain: "maybe", MaxProblems: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, w := range []string{"size", "min_age", "max_age", "workers", "cache_memory_mb", "uncertain", "max_problems"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}
