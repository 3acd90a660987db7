// Command testsum reads `go test -json` on stdin and prints one line per
// package with its time and the shuffle seed it ran with, the whole output of
// every failed test (and of a package that failed outside a test), and at the
// end the slowest packages and how to replay each failure:
//
//	go test -json -shuffle=on ./... 2>&1 | go run ./cmd/testsum
//
// Lines that are not JSON (the go command's own messages) pass through. It
// exits 1 when a package failed, so a pipeline with pipefail fails with it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type pkg struct {
	name    string
	seed    string
	elapsed float64
	result  string          // ok, FAIL, skip
	out     strings.Builder // package-level output
	lines   []line          // running tests' output, in order
	kept    []line          // failed tests' output
	failed  []string
}

type line struct{ test, out string }

func root(test string) string {
	r, _, _ := strings.Cut(test, "/")
	return r
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, w io.Writer) error {
	pkgs := map[string]*pkg{}
	var done []*pkg
	get := func(name string) *pkg {
		p := pkgs[name]
		if p == nil {
			p = &pkg{name: name}
			pkgs[name] = p
		}
		return p
	}
	buildFailed := map[string]*strings.Builder{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	start := time.Now()
	for sc.Scan() {
		raw := sc.Bytes()
		var e event
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &e) != nil {
			fmt.Fprintf(w, "%s\n", raw)
			continue
		}
		switch e.Action {
		case "build-output":
			b := buildFailed[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				buildFailed[e.ImportPath] = b
			}
			b.WriteString(e.Output)
			continue
		case "build-fail":
			fmt.Fprintf(w, "BUILD FAIL %s\n%s", e.ImportPath, buildFailed[e.ImportPath])
			continue
		}
		if e.Package == "" {
			continue
		}
		p := get(e.Package)
		if e.Test == "" {
			switch e.Action {
			case "output":
				if s, ok := strings.CutPrefix(e.Output, "-test.shuffle "); ok {
					p.seed = strings.TrimSpace(s)
				}
				p.out.WriteString(e.Output)
			case "pass", "fail", "skip":
				p.elapsed = e.Elapsed
				p.result = map[string]string{"pass": "ok", "fail": "FAIL", "skip": "skip"}[e.Action]
				report(w, p)
				done = append(done, p)
				delete(pkgs, e.Package)
			}
			continue
		}
		switch e.Action {
		case "output":
			p.lines = append(p.lines, line{e.Test, e.Output})
		case "fail", "pass", "skip":
			if e.Action == "fail" {
				p.failed = append(p.failed, e.Test)
			}
			if !strings.Contains(e.Test, "/") {
				// A top-level test ended: keep its output if it failed (with
				// -count=N a later run of the same test must not erase it).
				rest := p.lines[:0]
				for _, l := range p.lines {
					switch {
					case root(l.test) != e.Test:
						rest = append(rest, l)
					case e.Action == "fail":
						p.kept = append(p.kept, l)
					}
				}
				p.lines = rest
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, p := range pkgs { // never finished: the binary crashed or was killed
		p.result = "FAIL"
		p.out.WriteString("(no result: the test binary ended without reporting)\n")
		report(w, p)
		done = append(done, p)
	}
	return summary(w, done, len(buildFailed) > 0, time.Since(start))
}

func report(w io.Writer, p *pkg) {
	seed := ""
	if p.seed != "" {
		seed = "  -shuffle=" + p.seed
	}
	if p.result == "FAIL" {
		fmt.Fprintf(w, "\n======== %s failed\n", p.name)
		for _, l := range p.kept {
			fmt.Fprint(w, l.out)
		}
		for _, l := range p.lines { // tests still running when the binary ended
			fmt.Fprint(w, l.out)
		}
		if len(p.failed) == 0 {
			fmt.Fprint(w, p.out.String())
		}
	}
	fmt.Fprintf(w, "%-4s %-60s %7.1fs%s\n", p.result, p.name, p.elapsed, seed)
}

func summary(w io.Writer, done []*pkg, buildFailed bool, wall time.Duration) error {
	sort.Slice(done, func(i, j int) bool { return done[i].elapsed > done[j].elapsed })
	fmt.Fprintf(w, "\nslowest packages (wall %s for all):\n", wall.Round(time.Second))
	for i, p := range done {
		if i == 8 {
			break
		}
		fmt.Fprintf(w, "  %7.1fs %s\n", p.elapsed, p.name)
	}
	failed := 0
	for _, p := range done {
		if p.result != "FAIL" {
			continue
		}
		failed++
		var top []string
		seen := map[string]bool{}
		for _, t := range p.failed {
			if !strings.Contains(t, "/") && !seen[t] {
				seen[t] = true
				top = append(top, t)
			}
		}
		run := ""
		if len(top) > 0 {
			run = fmt.Sprintf(" -run '^(%s)$'", strings.Join(top, "|"))
		}
		shuffle := "on"
		if p.seed != "" {
			shuffle = p.seed
		}
		fmt.Fprintf(w, "replay: go test -race -count=1 -shuffle=%s%s %s\n", shuffle, run, p.name)
	}
	if failed > 0 || buildFailed {
		return fmt.Errorf("%d package(s) failed", failed)
	}
	return nil
}
