package deploy

import (
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// endpoint is one side of a connection: a pod of the overlay, a pod in
// another namespace (monitoring, DNS), or an address outside the cluster.
type endpoint struct {
	Name      string
	Namespace string // "" outside the cluster
	NSLabels  map[string]string
	Labels    map[string]string
	IP        netip.Addr
	Ports     []int32 // what it listens on (for the "nothing else" sweep)
	Ours      bool    // governed by the overlay's policies
}

type conn struct {
	From, To string
	Port     int32
	Proto    corev1.Protocol
}

func (c conn) String() string { return fmt.Sprintf("%s -> %s:%d/%s", c.From, c.To, c.Port, c.Proto) }

func peerMatches(p networkingv1.NetworkPolicyPeer, policyNS string, e endpoint) bool {
	if p.IPBlock != nil {
		// Pods have cluster addresses (10.x here): the block and its
		// exceptions decide, as for any address.
		pre, err := netip.ParsePrefix(p.IPBlock.CIDR)
		if err != nil || !pre.Contains(e.IP) {
			return false
		}
		for _, ex := range p.IPBlock.Except {
			if x, err := netip.ParsePrefix(ex); err == nil && x.Contains(e.IP) {
				return false
			}
		}
		return true
	}
	if e.Namespace == "" {
		return false // outside the cluster: only an ipBlock matches
	}
	if p.NamespaceSelector != nil {
		if !selects(p.NamespaceSelector, e.NSLabels) {
			return false
		}
	} else if e.Namespace != policyNS {
		return false
	}
	return p.PodSelector == nil || selects(p.PodSelector, e.Labels)
}

func selects(s *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	return err == nil && sel.Matches(labels.Set(l))
}

func portMatches(ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp == proto && (p.Port == nil || p.Port.IntVal == port) {
			return true
		}
	}
	return false
}

// allowed evaluates the policies as Kubernetes does: a pod selected by no
// policy of a direction is open in that direction; otherwise some rule of
// a selecting policy must admit the peer and port; both ends must agree.
func allowed(pols []networkingv1.NetworkPolicy, from, to endpoint, port int32, proto corev1.Protocol) bool {
	side := func(e, peer endpoint, ty networkingv1.PolicyType) bool {
		if !e.Ours {
			return true
		}
		selected := false
		for _, p := range pols {
			hasType := false
			for _, t := range p.Spec.PolicyTypes {
				hasType = hasType || t == ty
			}
			if !hasType || !selects(&p.Spec.PodSelector, e.Labels) {
				continue
			}
			selected = true
			if ty == networkingv1.PolicyTypeEgress {
				for _, r := range p.Spec.Egress {
					if portMatches(r.Ports, port, proto) && (len(r.To) == 0 || anyPeer(r.To, p.Namespace, peer)) {
						return true
					}
				}
			} else {
				for _, r := range p.Spec.Ingress {
					if portMatches(r.Ports, port, proto) && (len(r.From) == 0 || anyPeer(r.From, p.Namespace, peer)) {
						return true
					}
				}
			}
		}
		return !selected
	}
	return side(from, to, networkingv1.PolicyTypeEgress) && side(to, from, networkingv1.PolicyTypeIngress)
}

func anyPeer(ps []networkingv1.NetworkPolicyPeer, ns string, e endpoint) bool {
	for _, p := range ps {
		if peerMatches(p, ns, e) {
			return true
		}
	}
	return false
}

// TestNetworkPoliciesAllowExactlyTheConnections: the connections the
// manifests configure (each dialled *_ADDR, the database and Redis URLs,
// the chain RPC, the Ingress's backends from outside, Prometheus on each
// metrics port, DNS) are allowed, and nothing else between the pods, the
// outside and the monitoring namespace is.
func TestNetworkPoliciesAllowExactlyTheConnections(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov, func(t *testing.T) {
			o := render(t, overlayPath(t, ov))
			ns := o.Namespaces[0].Name
			eps := map[string]endpoint{
				"outside":    {Name: "outside", IP: netip.MustParseAddr("203.0.113.7"), Ports: []int32{80, 443, 8545}},
				"prometheus": {Name: "prometheus", Namespace: "monitoring", NSLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}, Labels: map[string]string{"app": "prometheus"}, IP: netip.MustParseAddr("10.9.0.2")},
				"kube-dns":   {Name: "kube-dns", Namespace: "kube-system", NSLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}, Labels: map[string]string{"k8s-app": "kube-dns"}, IP: netip.MustParseAddr("10.9.0.10"), Ports: []int32{53}},
			}
			var pods []string
			for i, w := range o.workloads() {
				e := endpoint{Name: w.Name, Namespace: ns, NSLabels: map[string]string{"kubernetes.io/metadata.name": ns}, Labels: w.Pod.Labels,
					IP: netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), Ours: true}
				for _, c := range w.Pod.Spec.Containers {
					for _, p := range c.Ports {
						e.Ports = append(e.Ports, p.ContainerPort)
					}
				}
				eps[w.Name] = e
				pods = append(pods, w.Name)
			}
			sort.Strings(pods)

			// The pod behind a Service, and the port it lands on.
			backend := func(svc string, port int32) (string, int32, bool) {
				s, ok := o.Services[svc]
				if !ok {
					return "", 0, false
				}
				for _, w := range o.workloads() {
					if w.Pod.Labels["app.kubernetes.io/name"] != s.Spec.Selector["app.kubernetes.io/name"] {
						continue
					}
					for _, sp := range s.Spec.Ports {
						if sp.Port != port && port != 0 {
							continue
						}
						for _, c := range w.Pod.Spec.Containers {
							if p, ok := resolvePort(c, sp.TargetPort); ok {
								return w.Name, p, true
							}
						}
					}
				}
				return "", 0, false
			}
			want := map[conn]bool{}
			public := map[string]bool{} // "pod:port" open to any source (the Ingress's backends)
			add := func(from, svc string, port int32, why string) {
				to, p, ok := backend(svc, port)
				if !ok {
					t.Errorf("%s dials %s:%d (%s), which is no Service port", from, svc, port, why)
					return
				}
				want[conn{from, to, p, corev1.ProtocolTCP}] = true
				if from == "outside" {
					public[fmt.Sprintf("%s:%d", to, p)] = true
				}
			}
			// Where a URL-valued setting points: the local overlay's
			// generated Secrets say it; otherwise the well-known Services.
			urlOf := func(v string) *url.URL {
				if sec, ok := strings.CutPrefix(v, "secret:"); ok {
					name, key, _ := strings.Cut(sec, "/")
					if s, ok := o.Secrets[name]; ok {
						v = string(s.Data[key])
					} else {
						v = map[string]string{"pbts-database": "postgres://postgres:5432", "pbts-rpc": "https://rpc.example:443"}[name]
					}
				}
				u, err := url.Parse(v)
				if err != nil {
					t.Fatalf("URL %q: %v", v, err)
				}
				return u
			}
			for _, w := range o.workloads() {
				want[conn{w.Name, "kube-dns", 53, corev1.ProtocolUDP}] = true
				want[conn{w.Name, "kube-dns", 53, corev1.ProtocolTCP}] = true
				if a := w.Pod.Annotations["prometheus.io/port"]; a != "" {
					n, _ := strconv.Atoi(a)
					want[conn{"prometheus", w.Name, int32(n), corev1.ProtocolTCP}] = true
				}
				for _, c := range w.Pod.Spec.Containers {
					for name, v := range containerEnv(t, o, c) {
						switch {
						case name == "PBTS_GRPC_ADDR" || name == "PBTS_HTTP_ADDR" || name == "PBTS_METRICS_ADDR" || v == "":
						case strings.HasSuffix(name, "_ADDR"):
							host, port, _ := strings.Cut(v, ":")
							n, _ := strconv.Atoi(port)
							add(w.Name, host, int32(n), name)
						case strings.HasSuffix(name, "_URL") && name != "PBTS_PUBLIC_RPC_URL":
							u := urlOf(v)
							n, _ := strconv.Atoi(u.Port())
							if _, inside := o.Services[u.Hostname()]; inside {
								add(w.Name, u.Hostname(), int32(n), name)
							} else {
								want[conn{w.Name, "outside", int32(n), corev1.ProtocolTCP}] = true
							}
						}
					}
				}
			}
			for _, ing := range o.Ingresses {
				for _, r := range ing.Spec.Rules {
					for _, p := range r.HTTP.Paths {
						s := o.Services[p.Backend.Service.Name]
						for _, sp := range s.Spec.Ports {
							if sp.Name == p.Backend.Service.Port.Name {
								add("outside", s.Name, sp.Port, "Ingress "+p.Path)
							}
						}
					}
				}
			}
			if len(want) < 10 {
				t.Fatalf("only %d connections derived: %v", len(want), want)
			}

			var wrong []string
			for c := range want {
				if !allowed(o.NetPols, eps[c.From], eps[c.To], c.Port, c.Proto) {
					wrong = append(wrong, "denied but needed: "+c.String())
				}
			}
			all := append([]string{"outside", "prometheus", "kube-dns"}, pods...)
			for _, from := range all {
				for _, to := range all {
					if from == to {
						continue
					}
					for _, p := range eps[to].Ports {
						for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
							c := conn{from, to, p, proto}
							open := proto == corev1.ProtocolTCP && public[fmt.Sprintf("%s:%d", to, p)] && !eps[from].Ours
							if !want[c] && !open && (eps[from].Ours || eps[to].Ours) && allowed(o.NetPols, eps[from], eps[to], p, proto) {
								wrong = append(wrong, "allowed but not needed: "+c.String())
							}
						}
					}
				}
			}
			sort.Strings(wrong)
			for _, w := range wrong {
				t.Error(w)
			}
			t.Logf("%d connections allowed, everything else among %d endpoints denied", len(want), len(all))
		})
	}
}
