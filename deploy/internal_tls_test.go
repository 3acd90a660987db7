package deploy

import (
	"net/url"
	"path"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestInternalTLSComponent renders sepolia with and without
// components/internal-tls: each gRPC service gets its certificate, key and
// CA as files from a mount of pbts-internal-tls, and each of its probes asks
// what the plain overlay's probe asked, in a form that works under mutual
// TLS: a gRPC probe (the kubelet has no TLS) becomes GET /healthz?service=
// the same service on the plain metrics port, an HTTP probe of a port that
// now serves TLS says HTTPS. The Ingress talks HTTPS to its backends.
func TestInternalTLSComponent(t *testing.T) {
	plain, tls := render(t, overlayPath(t, "sepolia")), render(t, overlayPath(t, tlsOverlay))
	containers := func(o *objects) map[string]corev1.Container {
		m := map[string]corev1.Container{}
		for _, w := range o.workloads() {
			for _, c := range w.Pod.Spec.Containers {
				m[w.Name+"/"+c.Name] = c
			}
		}
		return m
	}
	pods := map[string]corev1.PodSpec{}
	for _, w := range tls.workloads() {
		pods[w.Name] = w.Pod.Spec
	}
	before, after := containers(plain), containers(tls)
	for _, name := range []string{"tracker/tracker", "receipts/receipts", "chainwriter/chainwriter", "gateway/gateway"} {
		p, c := before[name], after[name]
		if c.Name == "" {
			t.Fatalf("%s missing from the rendered component", name)
		}
		env := containerEnv(t, tls, c)
		// The three files, each a key of pbts-internal-tls mounted into the container.
		files := map[string]string{} // mounted path -> Secret key
		for _, m := range c.VolumeMounts {
			for _, v := range pods[pathHead(name)].Volumes {
				if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "pbts-internal-tls" {
					for _, it := range v.Secret.Items {
						files[path.Join(m.MountPath, it.Path)] = it.Key
					}
				}
			}
		}
		for setting, key := range map[string]string{"PBTS_TLS_CERT": "tls.crt", "PBTS_TLS_KEY": "tls.key", "PBTS_TLS_CA": "ca.crt"} {
			if got := files[env[setting]]; got != key {
				t.Errorf("%s: %s=%q is Secret key %q of pbts-internal-tls, want %q", name, setting, env[setting], got, key)
			}
		}
		metrics := portOf(t, env["PBTS_METRICS_ADDR"])
		for i, pair := range [][2]*corev1.Probe{{p.StartupProbe, c.StartupProbe}, {p.ReadinessProbe, c.ReadinessProbe}, {p.LivenessProbe, c.LivenessProbe}} {
			was, is := pair[0], pair[1]
			if (was == nil) != (is == nil) {
				t.Errorf("%s probe %d: %v became %v", name, i, was, is)
				continue
			}
			if was == nil {
				continue
			}
			if is.GRPC != nil || is.HTTPGet == nil {
				t.Errorf("%s probe %d: %+v, want an HTTP probe (no gRPC probe can speak TLS)", name, i, is.ProbeHandler)
				continue
			}
			port, _ := probePort(c, is)
			switch {
			case was.GRPC != nil:
				u, err := url.Parse(is.HTTPGet.Path)
				svc := ""
				if was.GRPC.Service != nil {
					svc = *was.GRPC.Service
				}
				if err != nil || u.Path != "/healthz" || u.Query().Get("service") != svc || port != metrics || is.HTTPGet.Scheme == corev1.URISchemeHTTPS {
					t.Errorf("%s probe %d: %s %s on %d, want GET /healthz?service=%s over HTTP on the metrics port %d",
						name, i, is.HTTPGet.Scheme, is.HTTPGet.Path, port, svc, metrics)
				}
			case was.HTTPGet != nil:
				if is.HTTPGet.Path != was.HTTPGet.Path || is.HTTPGet.Port != was.HTTPGet.Port || is.HTTPGet.Scheme != corev1.URISchemeHTTPS {
					t.Errorf("%s probe %d: %s %s, want %s over HTTPS (the port serves TLS)", name, i, is.HTTPGet.Scheme, is.HTTPGet.Path, was.HTTPGet.Path)
				}
			}
		}
	}
	for _, ing := range tls.Ingresses {
		if ing.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "HTTPS" {
			t.Errorf("Ingress %s: backend-protocol %q, want HTTPS (its backends serve TLS)", ing.Name, ing.Annotations["nginx.ingress.kubernetes.io/backend-protocol"])
		}
	}
	if len(tls.Ingresses) == 0 {
		t.Error("no Ingress rendered")
	}
}

// pathHead is the workload of a "workload/container" name.
func pathHead(name string) string {
	for i := range name {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return name
}
