package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlays are the kustomizations an operator applies: the two overlays,
// and sepolia with the internal-tls component (testdata/internal-tls).
var overlays = []string{"local", "sepolia", tlsOverlay}

// tlsOverlay is the sepolia overlay with components/internal-tls.
const tlsOverlay = "sepolia+internal-tls"

// overlayPath is the kustomization directory of an entry of overlays.
func overlayPath(t testing.TB, ov string) string {
	if ov == tlsOverlay {
		return filepath.Join("testdata", "internal-tls")
	}
	return k8sDir(t, "overlays", ov)
}

// objects is one rendered kustomization, decoded into Kubernetes types.
type objects struct {
	Namespaces   []corev1.Namespace
	ConfigMaps   map[string]corev1.ConfigMap
	Secrets      map[string]corev1.Secret
	Services     map[string]corev1.Service
	PVCs         []corev1.PersistentVolumeClaim
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	Jobs         []batchv1.Job
	PDBs         []policyv1.PodDisruptionBudget
	HPAs         []autoscalingv2.HorizontalPodAutoscaler
	NetPols      []networkingv1.NetworkPolicy
	Ingresses    []networkingv1.Ingress
}

// workload is a pod template with the name of what runs it.
type workload struct {
	Kind, Name string
	Replicas   int32
	Pod        corev1.PodTemplateSpec
}

func (o *objects) workloads() []workload {
	var w []workload
	for _, d := range o.Deployments {
		w = append(w, workload{"Deployment", d.Name, ptrOr(d.Spec.Replicas, 1), d.Spec.Template})
	}
	for _, s := range o.StatefulSets {
		w = append(w, workload{"StatefulSet", s.Name, ptrOr(s.Spec.Replicas, 1), s.Spec.Template})
	}
	for _, j := range o.Jobs {
		w = append(w, workload{"Job", j.Name, 1, j.Spec.Template})
	}
	return w
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

func k8sDir(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{"k8s"}, parts...)...)
}

// render runs kustomize (the library kubectl -k uses) on dir and decodes
// every object strictly: an unknown field or kind fails the test.
func render(t testing.TB, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	o := &objects{ConfigMaps: map[string]corev1.ConfigMap{}, Secrets: map[string]corev1.Secret{}, Services: map[string]corev1.Service{}}
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		kind := r.GetGvk().ApiVersion() + "/" + r.GetKind()
		strict := func(v any) {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("%s: %s %s does not decode strictly: %v", dir, kind, r.GetName(), err)
			}
		}
		add, ok := map[string]func(func(any)){
			"v1/Namespace":                           appendTo(&o.Namespaces),
			"v1/ConfigMap":                           putIn(o.ConfigMaps, func(v corev1.ConfigMap) string { return v.Name }),
			"v1/Secret":                              putIn(o.Secrets, func(v corev1.Secret) string { return v.Name }),
			"v1/Service":                             putIn(o.Services, func(v corev1.Service) string { return v.Name }),
			"v1/PersistentVolumeClaim":               appendTo(&o.PVCs),
			"apps/v1/Deployment":                     appendTo(&o.Deployments),
			"apps/v1/StatefulSet":                    appendTo(&o.StatefulSets),
			"batch/v1/Job":                           appendTo(&o.Jobs),
			"policy/v1/PodDisruptionBudget":          appendTo(&o.PDBs),
			"autoscaling/v2/HorizontalPodAutoscaler": appendTo(&o.HPAs),
			"networking.k8s.io/v1/NetworkPolicy":     appendTo(&o.NetPols),
			"networking.k8s.io/v1/Ingress":           appendTo(&o.Ingresses),
		}[kind]
		switch {
		case ok:
			add(strict)
		default:
			t.Fatalf("%s: %s %s: a kind this test does not know (add it, with its type)", dir, kind, r.GetName())
		}
	}
	return o
}

// appendTo decodes an object (with the strict decoder it is given) onto list.
func appendTo[T any](list *[]T) func(func(any)) {
	return func(strict func(any)) {
		var v T
		strict(&v)
		*list = append(*list, v)
	}
}

// putIn decodes an object into m under its name.
func putIn[T any](m map[string]T, name func(T) string) func(func(any)) {
	return func(strict func(any)) {
		var v T
		strict(&v)
		m[name(v)] = v
	}
}

// TestOverlaysRender: each overlay renders and decodes strictly; every
// object is in the overlay's namespace; the shape an operator relies on
// holds (replicas, probes, limits, non-root, PDBs, HPAs).
func TestOverlaysRender(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov, func(t *testing.T) {
			o := render(t, overlayPath(t, ov))
			if len(o.Namespaces) != 1 {
				t.Fatalf("%d namespaces; want the overlay's one", len(o.Namespaces))
			}
			ns := o.Namespaces[0].Name
			checkNS := func(kind, name, got string) {
				if got != ns {
					t.Errorf("%s %s is in namespace %q, not %q", kind, name, got, ns)
				}
			}
			for _, w := range o.workloads() {
				checkNS(w.Kind, w.Name, namespaceOf(o, w))
			}
			for _, s := range o.Services {
				checkNS("Service", s.Name, s.Namespace)
			}
			for _, c := range o.ConfigMaps {
				checkNS("ConfigMap", c.Name, c.Namespace)
			}

			want := map[string]int32{"tracker": 2, "receipts": 2, "chainwriter": 2, "gateway": 2}
			for _, d := range o.Deployments {
				if n, ok := want[d.Name]; ok && ptrOr(d.Spec.Replicas, 1) < n {
					t.Errorf("Deployment %s: %d replicas, want at least %d", d.Name, ptrOr(d.Spec.Replicas, 1), n)
				}
				delete(want, d.Name)
			}
			if len(want) != 0 {
				t.Errorf("no Deployment for %v", keys(want))
			}
			for _, d := range o.Deployments {
				// Only the lock holder is Ready: a rolling update would wait
				// for a new Ready pod that cannot come while the old leader lives.
				if d.Name == "chainwriter" && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
					t.Errorf("the chainwriter rolls out by %q; want Recreate", d.Spec.Strategy.Type)
				}
			}
			for _, w := range o.workloads() {
				p := w.Pod.Spec
				if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
					t.Errorf("%s %s: runAsNonRoot is not set", w.Kind, w.Name)
				}
				for _, c := range p.Containers {
					if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
						t.Errorf("%s %s/%s: no CPU request or memory limit", w.Kind, w.Name, c.Name)
					}
					if w.Kind != "Job" && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
						t.Errorf("%s %s/%s: a readiness and a liveness probe are required", w.Kind, w.Name, c.Name)
					}
					if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
						t.Errorf("%s %s/%s: allowPrivilegeEscalation must be false", w.Kind, w.Name, c.Name)
					}
				}
			}
			pdb := map[string]bool{}
			for _, p := range o.PDBs {
				pdb[p.Spec.Selector.MatchLabels["app.kubernetes.io/name"]] = true
			}
			for _, d := range o.Deployments {
				if ptrOr(d.Spec.Replicas, 1) > 1 && !pdb[d.Name] {
					t.Errorf("Deployment %s runs %d replicas without a PodDisruptionBudget", d.Name, *d.Spec.Replicas)
				}
			}
			hpa := map[string]bool{}
			for _, h := range o.HPAs {
				hpa[h.Spec.ScaleTargetRef.Name] = true
			}
			for _, name := range []string{"receipts", "gateway"} {
				if !hpa[name] {
					t.Errorf("no HorizontalPodAutoscaler for the stateless %s", name)
				}
			}
			for name := range hpa {
				if name == "chainwriter" || name == "tracker" {
					t.Errorf("HorizontalPodAutoscaler on %s: it is not stateless (one signer; Redis-bound)", name)
				}
			}
			if len(o.Ingresses) != 1 || len(o.Ingresses[0].Spec.TLS) == 0 || o.Ingresses[0].Spec.TLS[0].SecretName == "" {
				t.Errorf("want one Ingress with TLS by Secret reference")
			}
		})
	}
}

func namespaceOf(o *objects, w workload) string {
	for _, d := range o.Deployments {
		if w.Kind == "Deployment" && d.Name == w.Name {
			return d.Namespace
		}
	}
	for _, s := range o.StatefulSets {
		if w.Kind == "StatefulSet" && s.Name == w.Name {
			return s.Namespace
		}
	}
	for _, j := range o.Jobs {
		if w.Kind == "Job" && j.Name == w.Name {
			return j.Namespace
		}
	}
	return ""
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// TestOverlaySettings: the chain each overlay names.
func TestOverlaySettings(t *testing.T) {
	for _, c := range []struct {
		overlay, chainID, confirmations string
	}{{"local", "31337", "1"}, {"sepolia", "11155111", "5"}} {
		o := render(t, k8sDir(t, "overlays", c.overlay))
		if got := o.ConfigMaps["pbts-chain"].Data["PBTS_CHAIN_ID"]; got != c.chainID {
			t.Errorf("%s: chain id %q, want %s", c.overlay, got, c.chainID)
		}
		if got := o.ConfigMaps["chainwriter-config"].Data["PBTS_CONFIRMATIONS"]; got != c.confirmations {
			t.Errorf("%s: confirmations %q, want %s", c.overlay, got, c.confirmations)
		}
	}
}

// TestNoSecretsCommitted: the base and the sepolia overlay make no Secret;
// the local overlay's (anvil's public dev keys) only those of the layout.
func TestNoSecretsCommitted(t *testing.T) {
	layout := secretLayout(t)
	for _, dir := range []string{k8sDir(t, "base"), k8sDir(t, "overlays", "sepolia")} {
		if o := render(t, dir); len(o.Secrets) != 0 {
			t.Errorf("%s makes Secrets %v: secrets are created by the operator, never committed", dir, keys(o.Secrets))
		}
	}
	for name, s := range render(t, k8sDir(t, "overlays", "local")).Secrets {
		want, ok := layout[name]
		if !ok {
			t.Errorf("local Secret %s is not in secret-layout.yaml", name)
			continue
		}
		for k := range s.Data {
			if _, ok := want[k]; !ok {
				t.Errorf("local Secret %s has key %s, not in secret-layout.yaml", name, k)
			}
		}
	}
}

func secretLayout(t testing.TB) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(k8sDir(t, "secret-layout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Secrets map[string]map[string]string `json:"secrets"`
	}
	if err := yamlStrict(b, &doc); err != nil {
		t.Fatalf("secret-layout.yaml: %v", err)
	}
	return doc.Secrets
}

// TestSecretKeysDocumented: every Secret key a workload reads (env or
// volume) is in secret-layout.yaml.
func TestSecretKeysDocumented(t *testing.T) {
	layout := secretLayout(t)
	for _, ov := range overlays {
		o := render(t, overlayPath(t, ov))
		check := func(where, secret, key string) {
			if _, ok := layout[secret][key]; !ok {
				t.Errorf("%s: %s reads Secret %s key %q, which secret-layout.yaml does not list", ov, where, secret, key)
			}
		}
		for _, w := range o.workloads() {
			for _, c := range w.Pod.Spec.Containers {
				for _, e := range c.Env {
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
						check(w.Name+"/"+c.Name+" env "+e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
					}
				}
				for _, ef := range c.EnvFrom {
					if ef.SecretRef != nil {
						t.Errorf("%s: %s/%s takes a whole Secret (envFrom): read keys one by one", ov, w.Name, c.Name)
					}
				}
			}
			for _, v := range w.Pod.Spec.Volumes {
				if v.Secret == nil {
					continue
				}
				if len(v.Secret.Items) == 0 {
					t.Errorf("%s: %s mounts all of Secret %s: name its keys", ov, w.Name, v.Secret.SecretName)
				}
				for _, it := range v.Secret.Items {
					check(w.Name+" volume "+v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
		for _, ing := range o.Ingresses {
			for _, tls := range ing.Spec.TLS {
				check("Ingress "+ing.Name, tls.SecretName, "tls.crt")
			}
		}
	}
}

// pbtsImage is the Dockerfile target an image names ("pbts/tracker:dev" or
// "ghcr.io/pbts/tracker:0.1.0" -> "tracker"), or "" for another image.
func pbtsImage(image string) string {
	name := image
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[len(parts)-2] != "pbts" {
		return ""
	}
	return parts[len(parts)-1]
}

// TestImagesAreDockerfileTargets: every PBTS image a manifest runs is a
// target of ../Dockerfile; every other image is pinned to a version.
func TestImagesAreDockerfileTargets(t *testing.T) {
	df := parseDockerfile(t, "../Dockerfile")
	for _, dir := range append([]string{k8sDir(t, "base")}, overlayDirs(t)...) {
		for _, w := range render(t, dir).workloads() {
			for _, c := range w.Pod.Spec.Containers {
				target := pbtsImage(c.Image)
				switch {
				case target == "":
					if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
						t.Errorf("%s: %s/%s runs %s without a pinned version", dir, w.Name, c.Name, c.Image)
					}
				case df.stage(target) == nil:
					t.Errorf("%s: %s/%s runs image %s, but the Dockerfile has no target %q", dir, w.Name, c.Name, c.Image, target)
				}
			}
		}
	}
}

func overlayDirs(t testing.TB) []string {
	var d []string
	for _, ov := range overlays {
		d = append(d, overlayPath(t, ov))
	}
	return d
}

func yamlStrict(b []byte, v any) error {
	j, err := yamlToJSON(b)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
