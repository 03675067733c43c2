package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

// TestCLISecret: `weft secret create` stores the literal and file values;
// tables and describe show key names and sizes, never values; a manifest's
// stringData is stored merged into data; bad flags change nothing.
func TestCLISecret(t *testing.T) {
	addr := startControlPlane(t)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, []byte("-----BEGIN CERTIFICATE-----\nabc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := weft(t, addr, "", "secret", "create", "hooks",
		"--from-literal", "token=s3cr3t=with=equals", "--from-file", "ca="+file); code != 0 {
		t.Fatalf("secret create: code %d: %s%s", code, out, errs)
	}
	s := getJSON(t, addr, "secret", "hooks").(*apis.Secret)
	if string(s.Data["token"]) != "s3cr3t=with=equals" || !strings.HasPrefix(string(s.Data["ca"]), "-----BEGIN") || s.Type != apis.SecretTypeOpaque {
		t.Errorf("stored %q type %q", s.Data, s.Type)
	}

	manifest := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: basic\ndata:\n  user: YWxpY2U=\nstringData:\n  password: hunter2\n"
	if _, errs, code := weft(t, addr, manifest, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: %s", errs)
	}
	b := getJSON(t, addr, "secrets", "basic").(*apis.Secret)
	if string(b.Data["user"]) != "alice" || string(b.Data["password"]) != "hunter2" || b.StringData != nil {
		t.Errorf("basic stored as data %q stringData %q", b.Data, b.StringData)
	}

	for _, list := range [][]string{{"secret", "list"}, {"get", "secrets"}} {
		out, errs, code := weft(t, addr, "", list...)
		if code != 0 {
			t.Fatalf("%v: %s", list, errs)
		}
		if got := cell(t, out, "hooks", "DATA"); got != "2" {
			t.Errorf("%v: DATA of hooks = %q:\n%s", list, got, out)
		}
		if got := cell(t, out, "basic", "TYPE"); got != "Opaque" {
			t.Errorf("%v: TYPE of basic = %q:\n%s", list, got, out)
		}
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "hunter2") || strings.Contains(out, "READY") {
			t.Errorf("%v shows a value or a READY column:\n%s", list, out)
		}
	}
	out, _, code := weft(t, addr, "", "secret", "describe", "hooks")
	if code != 0 || !strings.Contains(out, "token:") || !strings.Contains(out, "18 bytes") || strings.Contains(out, "s3cr3t") {
		t.Errorf("describe:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"secret", "create", "x"}, "--from-literal: must be given at least once"},
		{[]string{"secret", "create", "x", "--from-literal", "novalue"}, `--from-literal: must be KEY=VALUE, got "novalue"`},
		{[]string{"secret", "create", "x", "--from-literal", "k=1", "--from-literal", "k=2"}, `name each key once ("k" is given twice)`},
		{[]string{"secret", "create", "x", "--from-literal", "a/b=1"}, "data[a/b]"},
		{[]string{"secret", "create", "x", "--from-file", "k=" + filepath.Join(t.TempDir(), "missing")}, "no such file"},
		{[]string{"secret", "create", "hooks", "--from-literal", "k=1"}, "already exists"},
	} {
		_, errs, code := weft(t, addr, "", tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want it to contain %q", tc.args, code, errs, tc.want)
		}
	}
	if _, errs, code := weft(t, addr, "", "get", "secret", "x"); code == 0 || !strings.Contains(errs, "not found") {
		t.Errorf("a failed create stored secret x: %s", errs)
	}
}
