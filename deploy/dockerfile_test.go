package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

func yamlToJSON(b []byte) ([]byte, error) { return yaml.YAMLToJSON(b) }

// instr is one Dockerfile instruction, continuation lines joined.
type instr struct {
	Cmd, Args string
	Line      int
}

type stage struct {
	Name, From string
	Instrs     []instr
}

type dockerfile struct {
	Args   map[string]string // ARG defaults before the first FROM
	Stages []*stage
}

func (d *dockerfile) stage(name string) *stage {
	for _, s := range d.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, backslash continuations joined.
func parseDockerfile(t testing.TB, file string) *dockerfile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := &dockerfile{Args: map[string]string{}}
	sc := bufio.NewScanner(f)
	var cur strings.Builder
	start, n := 0, 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instr{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		switch {
		case in.Cmd == "FROM":
			f := strings.Fields(in.Args)
			s := &stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			}
			d.Stages = append(d.Stages, s)
		case len(d.Stages) == 0 && in.Cmd == "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			d.Args[k] = v
		case len(d.Stages) == 0:
			t.Fatalf("%s:%d: %s before the first FROM", file, in.Line, in.Cmd)
		default:
			s := d.Stages[len(d.Stages)-1]
			s.Instrs = append(s.Instrs, in)
		}
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return d
}

// goBuild is a `go build` a Dockerfile stage runs.
type goBuild struct {
	Stage    string
	Env      map[string]string // the stage's ENV lines (e.g. CGO_ENABLED)
	Flags    []string          // between "build" and the packages, without -o
	Out      string            // the -o directory
	Packages []string
}

var goBuildRE = regexp.MustCompile(`go build (.*)$`)

// goBuilds lists every stage's go build commands (the stage's ENV apply).
func (d *dockerfile) goBuilds(t testing.TB) []goBuild {
	var out []goBuild
	for _, s := range d.Stages {
		env := map[string]string{}
		for _, in := range s.Instrs {
			switch in.Cmd {
			case "ENV":
				k, v, _ := strings.Cut(in.Args, "=")
				env[k] = v
			case "RUN":
				m := goBuildRE.FindStringSubmatch(in.Args)
				if m == nil {
					continue
				}
				b := goBuild{Stage: s.Name, Env: env}
				f := shellFields(m[1])
				for i := 0; i < len(f); i++ {
					switch {
					case f[i] == "-o":
						i++
						b.Out = f[i]
					case strings.HasPrefix(f[i], "./"):
						b.Packages = append(b.Packages, f[i])
					default:
						b.Flags = append(b.Flags, f[i])
					}
				}
				if b.Out == "" || len(b.Packages) == 0 {
					t.Fatalf("Dockerfile:%d: go build without -o DIR/ or packages: %s", in.Line, in.Args)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// shellFields splits a shell command line into words as sh does for
// plain words and quotes: -ldflags="-s -w" is one word, -ldflags=-s -w.
func shellFields(s string) []string {
	var out []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

var (
	builtOnce sync.Once
	builtDir  string
	builtErr  error
	builtOut  string
)

// dockerBinaries runs the Dockerfile's go build commands here (same
// packages, flags and CGO setting) into one directory, once per test run.
func dockerBinaries(t testing.TB) string {
	t.Helper()
	builtOnce.Do(func() {
		builtDir, builtErr = os.MkdirTemp("", "pbts-docker-bin-")
		if builtErr != nil {
			return
		}
		for _, b := range parseDockerfile(t, "../Dockerfile").goBuilds(t) {
			args := append(append([]string{"build"}, b.Flags...), "-o", builtDir+"/")
			args = append(args, b.Packages...)
			cmd := exec.Command("go", args...)
			cmd.Dir = ".."
			cmd.Env = os.Environ()
			for k, v := range b.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				builtErr, builtOut = err, "stage "+b.Stage+": go "+strings.Join(args, " ")+"\n"+string(out)
				return
			}
		}
	})
	if builtErr != nil {
		t.Fatalf("%v\n%s", builtErr, builtOut)
	}
	return builtDir
}

// TestDockerfile: every stage's go build builds here with its flags; every
// COPY --from names an earlier stage and a path that stage makes; every
// COPY from the context names files that exist; the runtime images run as
// non-root, from distroless (no shell), an ENTRYPOINT binary they copied.
func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, "../Dockerfile")
	bin := dockerBinaries(t)

	// What each stage makes: go build outputs, npm run build's dist, and
	// what it copied in.
	made := map[string][]string{}
	workdir := map[string]string{}
	for _, b := range d.goBuilds(t) {
		for _, p := range b.Packages {
			made[b.Stage] = append(made[b.Stage], path.Join(b.Out, path.Base(p)))
			exe := filepath.Join(bin, path.Base(p))
			f, err := elf.Open(exe)
			if err != nil {
				t.Errorf("stage %s: %s was not built: %v", b.Stage, p, err)
				continue
			}
			dynamic := false
			for _, prog := range f.Progs {
				dynamic = dynamic || prog.Type == elf.PT_INTERP
			}
			f.Close()
			if want := b.Env["CGO_ENABLED"] == "1"; dynamic != want {
				t.Errorf("stage %s: %s dynamically linked = %v, want %v (CGO_ENABLED=%s)", b.Stage, p, dynamic, want, b.Env["CGO_ENABLED"])
			}
		}
	}
	known := map[string]bool{}
	for _, s := range d.Stages {
		if s.Name == "" {
			t.Errorf("a stage FROM %s has no name", s.From)
		}
		for _, in := range s.Instrs {
			switch in.Cmd {
			case "WORKDIR":
				workdir[s.Name] = in.Args
			case "RUN":
				if strings.Contains(in.Args, "npm run build") {
					made[s.Name] = append(made[s.Name], path.Join(workdir[s.Name], "dist"))
				}
			case "COPY":
				f := strings.Fields(in.Args)
				var from string
				var rest []string
				for _, a := range f {
					if v, ok := strings.CutPrefix(a, "--from="); ok {
						from = v
					} else if !strings.HasPrefix(a, "--") {
						rest = append(rest, a)
					}
				}
				srcs, dst := rest[:len(rest)-1], rest[len(rest)-1]
				if from != "" {
					if !known[from] {
						t.Errorf("Dockerfile:%d: COPY --from=%s: no earlier stage of that name", in.Line, from)
						continue
					}
					for _, src := range srcs {
						if !madeBy(made[from], src) {
							t.Errorf("Dockerfile:%d: COPY --from=%s %s: that stage makes %v", in.Line, from, src, made[from])
						}
					}
					made[s.Name] = append(made[s.Name], dst)
					continue
				}
				for _, src := range srcs {
					if _, err := os.Stat(filepath.Join("..", src)); err != nil {
						t.Errorf("Dockerfile:%d: COPY %s: not in the build context: %v", in.Line, src, err)
					}
				}
			}
		}
		if known[s.From] { // FROM an earlier stage: what it made is here too
			made[s.Name] = append(made[s.Name], made[s.From]...)
		}
		known[s.Name] = true
	}

	runtimes := 0
	for _, s := range d.Stages {
		from := expandArgs(s.From, d.Args)
		if !strings.HasPrefix(from, "gcr.io/distroless/") {
			continue
		}
		runtimes++
		var user, entry string
		for _, in := range s.Instrs {
			switch in.Cmd {
			case "USER":
				user = in.Args
			case "ENTRYPOINT":
				entry = in.Args
			case "RUN":
				t.Errorf("runtime stage %s RUNs %q: distroless has no shell", s.Name, in.Args)
			}
		}
		if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
			t.Errorf("runtime stage %s: USER %q; want a non-root uid", s.Name, user)
		}
		if !strings.HasSuffix(from, ":nonroot") {
			t.Errorf("runtime stage %s: base %s; want a :nonroot distroless", s.Name, from)
		}
		m := regexp.MustCompile(`^\["([^"]+)"`).FindStringSubmatch(entry)
		if m == nil || !madeBy(made[s.Name], m[1]) {
			t.Errorf("runtime stage %s: ENTRYPOINT %s is not a binary it copied (%v)", s.Name, entry, made[s.Name])
		}
	}
	if runtimes < 6 {
		t.Errorf("%d runtime stages; want tracker, receipts, chainwriter, gateway, migrate and deploy", runtimes)
	}
	// The gateway image carries the dashboard and serves it.
	gw := d.stage("gateway")
	if gw == nil || !madeBy(made["gateway"], "/srv/dashboard") || !hasInstr(gw, "ENV", "PBTS_STATIC_DIR=/srv/dashboard") {
		t.Errorf("the gateway image must copy the dashboard build to /srv/dashboard and set PBTS_STATIC_DIR")
	}
}

func madeBy(made []string, p string) bool {
	p = path.Clean(p)
	for _, m := range made {
		m = path.Clean(m)
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

func hasInstr(s *stage, cmd, args string) bool {
	for _, in := range s.Instrs {
		if in.Cmd == cmd && in.Args == args {
			return true
		}
	}
	return false
}

func expandArgs(s string, args map[string]string) string {
	return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
		return args[m[2:len(m)-1]]
	})
}
