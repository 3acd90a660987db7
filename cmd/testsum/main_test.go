package main

import (
	"bytes"
	"strings"
	"testing"
)

// A passing package's line carries its shuffle seed; a failing one shows its
// failed test's output (subtests included, passing tests left out) and a
// replay command with the seed; the run reports the failure.
func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`go: downloading example.com/x v1.0.0`,
		`{"Action":"start","Package":"a"}`,
		`{"Action":"output","Package":"a","Output":"-test.shuffle 42\n"}`,
		`{"Action":"pass","Package":"a","Elapsed":1.5}`,
		`{"Action":"start","Package":"b"}`,
		`{"Action":"output","Package":"b","Output":"-test.shuffle 7\n"}`,
		`{"Action":"output","Package":"b","Test":"TestOK","Output":"quiet line\n"}`,
		`{"Action":"pass","Package":"b","Test":"TestOK"}`,
		`{"Action":"output","Package":"b","Test":"TestBad/sub","Output":"boom here\n"}`,
		`{"Action":"fail","Package":"b","Test":"TestBad/sub"}`,
		`{"Action":"fail","Package":"b","Test":"TestBad"}`,
		`{"Action":"fail","Package":"b","Elapsed":2}`,
	}, "\n")
	var out bytes.Buffer
	err := run(strings.NewReader(in), &out)
	s := out.String()
	if err == nil {
		t.Error("a failed package was not reported as a failure")
	}
	for _, want := range []string{
		"go: downloading example.com/x", "-shuffle=42", "boom here",
		"replay: go test -race -count=1 -shuffle=7 -run '^(TestBad)$' b",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "quiet line") {
		t.Errorf("a passing test's output was shown:\n%s", s)
	}
	var ok bytes.Buffer
	if err := run(strings.NewReader(`{"Action":"pass","Package":"a","Elapsed":1}`), &ok); err != nil {
		t.Errorf("all passing: %v", err)
	}
	if err := run(strings.NewReader(`{"Action":"start","Package":"c"}`), &ok); err == nil {
		t.Error("a package without a result (crashed binary) passed")
	}
}

// With -count=N, a test that failed once and then passed keeps the failed
// run's output.
func TestSummaryCountKeepsFailedRun(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"output","Package":"p","Test":"TestFlaky","Output":"first run broke\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestFlaky"}`,
		`{"Action":"output","Package":"p","Test":"TestFlaky","Output":"second run fine\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestFlaky"}`,
		`{"Action":"fail","Package":"p","Elapsed":1}`,
	}, "\n")
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err == nil {
		t.Error("no failure reported")
	}
	if s := out.String(); !strings.Contains(s, "first run broke") || strings.Contains(s, "second run fine") ||
		strings.Count(s, "TestFlaky") != 1 {
		t.Errorf("output:\n%s", s)
	}
}
