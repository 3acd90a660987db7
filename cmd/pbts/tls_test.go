package main

import "testing"

func TestTLSFilesFromFlagOrEnvironment(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"PBTS_TLS_CA": "/env/ca.pem", "PBTS_TLS_CERT": "/env/cert.pem", "PBTS_TLS_KEY": "/env/key.pem", "HOME": t.TempDir()}[k]
	}
	var o opts
	o.timeout = defaultTimeout
	if err := o.resolve(env); err != nil {
		t.Fatal(err)
	}
	if got, want := o.tlsFiles(), (struct{ CA, Cert, Key string }{"/env/ca.pem", "/env/cert.pem", "/env/key.pem"}); got.CA != want.CA || got.Cert != want.Cert || got.Key != want.Key {
		t.Errorf("TLS files = %+v, want the environment's %+v", got, want)
	}
	o = opts{tlsCA: "/flag/ca.pem", tlsCert: "/flag/cert.pem", tlsKey: "/flag/key.pem", timeout: defaultTimeout}
	if err := o.resolve(env); err != nil {
		t.Fatal(err)
	}
	if got := o.tlsFiles(); got.CA != "/flag/ca.pem" || got.Cert != "/flag/cert.pem" || got.Key != "/flag/key.pem" {
		t.Errorf("TLS files = %+v, want the flags' over the environment", got)
	}
}
