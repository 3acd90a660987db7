package main

import "testing"

func TestTLSCAFromFlagOrEnvironment(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"PBTS_TLS_CA": "/env/ca.pem", "HOME": t.TempDir()}[k]
	}
	var o opts
	o.timeout = defaultTimeout
	if err := o.resolve(env); err != nil {
		t.Fatal(err)
	}
	if o.tlsCA != "/env/ca.pem" {
		t.Errorf("tlsCA = %q, want PBTS_TLS_CA's /env/ca.pem", o.tlsCA)
	}
	o = opts{tlsCA: "/flag/ca.pem", timeout: defaultTimeout}
	if err := o.resolve(env); err != nil {
		t.Fatal(err)
	}
	if o.tlsCA != "/flag/ca.pem" {
		t.Errorf("tlsCA = %q, want the flag's /flag/ca.pem over the environment", o.tlsCA)
	}
}
