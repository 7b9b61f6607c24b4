package main

import (
	"flag"
	"io"
	"testing"
)

// TestTrustProxyEnvironment: SIGHTLINE_TRUST_PROXY sets the default of
// --trust-proxy, the flag wins, and a value that is not a boolean is an
// error rather than a silent "off".
func TestTrustProxyEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env     string
		args    []string
		want    bool
		wantErr bool
	}{
		{"", nil, false, false},
		{"true", nil, true, false},
		{"1", nil, true, false},
		{"false", nil, false, false},
		{"true", []string{"--trust-proxy=false"}, false, false},
		{"", []string{"--trust-proxy"}, true, false},
		{"yes please", nil, false, true},
	} {
		t.Setenv("SIGHTLINE_TRUST_PROXY", tc.env)
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var sf serverFlags
		sf.register(fs, t.TempDir())
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("env %q args %v: parse: %v", tc.env, tc.args, err)
		}
		cfg, err := sf.config(io.Discard)
		if (err != nil) != tc.wantErr {
			t.Fatalf("env %q args %v: err = %v, want error %v", tc.env, tc.args, err, tc.wantErr)
		}
		if err == nil && cfg.TrustProxy != tc.want {
			t.Errorf("env %q args %v: TrustProxy = %v, want %v", tc.env, tc.args, cfg.TrustProxy, tc.want)
		}
	}
}
