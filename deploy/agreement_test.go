package deploy

import (
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pbts/pbts/server"
)

// flagsOf lists the PBTS_* variables a built command reads: one per flag
// its own flag set prints with -h.
func flagsOf(t testing.TB, bin string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, "-h").CombinedOutput() // -h exits non-zero
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9.-]+)`).FindAllStringSubmatch(string(out), -1) {
		vars[server.EnvName(m[1])] = true
	}
	if len(vars) < 3 {
		t.Fatalf("%s -h printed no flags:\n%s", bin, out)
	}
	return vars
}

// containerEnv is every variable a container gets: env and the keys of the
// ConfigMaps it takes whole, with their values where known.
func containerEnv(t testing.TB, o *objects, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		cm, ok := o.ConfigMaps[ef.ConfigMapRef.Name]
		if !ok {
			t.Errorf("container %s takes ConfigMap %s, which no manifest makes", c.Name, ef.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			cm, ok := o.ConfigMaps[e.ValueFrom.ConfigMapKeyRef.Name]
			if !ok || cm.Data[e.ValueFrom.ConfigMapKeyRef.Key] == "" {
				t.Errorf("container %s env %s: ConfigMap %s has no key %s", c.Name, e.Name, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
			}
			v = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		env[e.Name] = v
	}
	return env
}

// TestEnvVarsAreFlags: every PBTS_* variable a manifest gives a PBTS
// container is a flag of that command (a renamed or removed flag fails
// here, not at 3 a.m. in a crash loop); variables only there to be
// substituted into args ($(NAME)) are exempt.
func TestEnvVarsAreFlags(t *testing.T) {
	bin := dockerBinaries(t)
	flags := map[string]map[string]bool{}
	for _, ov := range overlays {
		o := render(t, overlayPath(t, ov))
		for _, w := range o.workloads() {
			for _, c := range w.Pod.Spec.Containers {
				target := pbtsImage(c.Image)
				if target == "" {
					continue
				}
				if flags[target] == nil {
					flags[target] = flagsOf(t, filepath.Join(bin, target))
				}
				args := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
				for name := range containerEnv(t, o, c) {
					if !strings.HasPrefix(name, "PBTS_") || strings.Contains(args, "$("+name+")") {
						continue
					}
					if !flags[target][name] {
						t.Errorf("%s: %s/%s sets %s, which %s does not read (its flags: %s -h)", ov, w.Name, c.Name, name, target, target)
					}
				}
			}
		}
	}
}

// portOf is the port of a host:port listen address.
func portOf(t testing.TB, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return int32(n)
}

// listenPorts maps a PBTS container's port names to the ports its
// settings make it listen on: grpc from PBTS_GRPC_ADDR, http from
// PBTS_HTTP_ADDR, metrics from PBTS_METRICS_ADDR.
func listenPorts(t testing.TB, env map[string]string) map[string]int32 {
	ports := map[string]int32{}
	for name, v := range map[string]string{"grpc": "PBTS_GRPC_ADDR", "http": "PBTS_HTTP_ADDR", "metrics": "PBTS_METRICS_ADDR"} {
		if addr, ok := env[v]; ok {
			ports[name] = portOf(t, addr)
			if h, _, _ := net.SplitHostPort(addr); h == "127.0.0.1" || h == "localhost" {
				t.Errorf("%s=%s listens on loopback only: nothing outside the pod reaches it", v, addr)
			}
		}
	}
	return ports
}

func resolvePort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func probePort(c corev1.Container, p *corev1.Probe) (int32, bool) {
	switch {
	case p == nil || p.Exec != nil:
		return 0, true
	case p.GRPC != nil:
		return resolvePort(c, intstr.FromInt32(p.GRPC.Port))
	case p.HTTPGet != nil:
		return resolvePort(c, p.HTTPGet.Port)
	case p.TCPSocket != nil:
		return resolvePort(c, p.TCPSocket.Port)
	}
	return 0, false
}

// TestPortsAgree: each PBTS container declares exactly the ports its
// settings make it listen on, under their names; every probe hits a
// declared port (a gRPC probe the gRPC one); the metrics annotation names
// the metrics port; every Service and Ingress backend lands on a port a
// selected pod declares.
func TestPortsAgree(t *testing.T) {
	for _, ov := range overlays {
		o := render(t, overlayPath(t, ov))
		podsOf := map[string][]corev1.Container{} // by app label
		for _, w := range o.workloads() {
			app := w.Pod.Labels["app.kubernetes.io/name"]
			for _, c := range w.Pod.Spec.Containers {
				podsOf[app] = append(podsOf[app], c)
				where := ov + ": " + w.Name + "/" + c.Name
				if pbtsImage(c.Image) != "" {
					listen := listenPorts(t, containerEnv(t, o, c))
					declared := map[string]int32{}
					for _, cp := range c.Ports {
						declared[cp.Name] = cp.ContainerPort
					}
					for name, port := range listen {
						if declared[name] != port {
							t.Errorf("%s listens on %s %d but declares port %s=%d", where, name, port, name, declared[name])
						}
					}
					for name := range declared {
						if _, ok := listen[name]; !ok {
							t.Errorf("%s declares port %s, which no setting makes it listen on", where, name)
						}
					}
					if a := w.Pod.Annotations["prometheus.io/port"]; a != "" && a != strconv.Itoa(int(listen["metrics"])) {
						t.Errorf("%s: prometheus.io/port %s, metrics listen on %d", where, a, listen["metrics"])
					}
					for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
						if p != nil && p.GRPC != nil && p.GRPC.Port != listen["grpc"] {
							t.Errorf("%s: a gRPC probe on %d, gRPC listens on %d", where, p.GRPC.Port, listen["grpc"])
						}
					}
				}
				for i, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
					if _, ok := probePort(c, p); !ok {
						t.Errorf("%s: probe %d names a port the container does not declare", where, i)
					}
				}
			}
		}
		for _, s := range o.Services {
			app := s.Spec.Selector["app.kubernetes.io/name"]
			cs := podsOf[app]
			if len(cs) == 0 {
				t.Errorf("%s: Service %s selects app %q, which no workload runs", ov, s.Name, app)
			}
			for _, sp := range s.Spec.Ports {
				ok := false
				for _, c := range cs {
					if p, found := resolvePort(c, sp.TargetPort); found && p == sp.Port {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: Service %s port %s (%d -> %s) lands on no declared container port of the same number", ov, s.Name, sp.Name, sp.Port, sp.TargetPort.String())
				}
			}
		}
		for _, ing := range o.Ingresses {
			for _, r := range ing.Spec.Rules {
				for _, p := range r.HTTP.Paths {
					b := p.Backend.Service
					s, ok := o.Services[b.Name]
					found := false
					for _, sp := range s.Spec.Ports {
						found = found || sp.Name == b.Port.Name || (b.Port.Number != 0 && sp.Port == b.Port.Number)
					}
					if !ok || !found {
						t.Errorf("%s: Ingress path %s goes to %s:%s%d, which is no Service port", ov, p.Path, b.Name, b.Port.Name, b.Port.Number)
					}
				}
			}
		}
		// Every address a service dials is a Service port in the overlay.
		for _, w := range o.workloads() {
			for _, c := range w.Pod.Spec.Containers {
				for name, v := range containerEnv(t, o, c) {
					if !strings.HasSuffix(name, "_ADDR") || name == "PBTS_GRPC_ADDR" || name == "PBTS_HTTP_ADDR" || name == "PBTS_METRICS_ADDR" || v == "" {
						continue
					}
					host, port, err := net.SplitHostPort(v)
					if err != nil {
						t.Errorf("%s: %s/%s %s=%q: %v", ov, w.Name, c.Name, name, v, err)
						continue
					}
					s, ok := o.Services[host]
					found := false
					for _, sp := range s.Spec.Ports {
						found = found || strconv.Itoa(int(sp.Port)) == port
					}
					if !ok || !found {
						t.Errorf("%s: %s/%s dials %s=%s, which is no Service port", ov, w.Name, c.Name, name, v)
					}
				}
			}
		}
	}
}
