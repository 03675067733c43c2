package apis

import (
	"errors"
	"strings"
	"testing"
)

// indent indents every non-empty line of a flush-left YAML block by n spaces.
func indent(block string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for l := range strings.SplitSeq(strings.Trim(block, "\n"), "\n") {
		if l != "" {
			b.WriteString(pad)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// trigger is a Trigger manifest named "t" in namespace "ns" with the given
// spec (flush-left YAML).
func trigger(spec string) string {
	return triggerMeta("name: t\nnamespace: ns", spec)
}

// triggerMeta is a Trigger manifest with the given metadata and spec.
func triggerMeta(meta, spec string) string {
	return "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n" + indent(meta, 2) + "spec:\n" + indent(spec, 2)
}

// broker is a Broker manifest with the given metadata and spec (either may be empty).
func broker(meta, spec string) string {
	s := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n" + indent(meta, 2)
	if spec != "" {
		s += "spec:\n" + indent(spec, 2)
	}
	return s
}

// okSubscriber is a valid subscriber block for trigger specs.
const okSubscriber = "subscriber:\n  uri: http://sink.example.com/\n"

// fieldErrorsOf returns the FieldErrors inside err, failing the test if there are none.
func fieldErrorsOf(t *testing.T, err error) FieldErrors {
	t.Helper()
	var fes FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("error %v (%T) carries no FieldErrors", err, err)
	}
	return fes
}

// findPath returns the entry of fes with the given path, or nil.
func findPath(fes FieldErrors, path string) *FieldError {
	for _, fe := range fes {
		if fe.Path == path {
			return fe
		}
	}
	return nil
}

func paths(fes FieldErrors) []string {
	out := make([]string, len(fes))
	for i, fe := range fes {
		out[i] = fe.Path
	}
	return out
}

// invalidAt checks that err, Validate's, is an ErrInvalid with an error at
// path whose message contains substr.
func invalidAt(t *testing.T, err error, path, substr string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate = %v, want an ErrInvalid", err)
	}
	if fe := findPath(fieldErrorsOf(t, err), path); fe == nil || !strings.Contains(fe.Message, substr) {
		t.Errorf("Validate = %v; want %q at %q", err, substr, path)
	}
}

// invalidManifest decodes manifest, which must fail with a *ManifestError
// (errors.Is ErrInvalid) holding an error at path whose text contains
// message; it returns the error for further checks.
func invalidManifest(t *testing.T, manifest, path, message string) (error, *ManifestError) {
	t.Helper()
	objs, err := DecodeManifests([]byte(manifest))
	if err == nil {
		t.Fatalf("no error; decoded %d objects", len(objs))
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a *ManifestError", err)
	}
	fes := fieldErrorsOf(t, me)
	fe := findPath(fes, path)
	if fe == nil {
		t.Fatalf("no error at path %q; paths %q; error: %v", path, paths(fes), err)
	}
	if !strings.Contains(fe.Error(), message) {
		t.Errorf("error at %s = %q, want it to contain %q", path, fe.Error(), message)
	}
	return err, me
}

// invalidUpdate decodes oldManifest and newManifest and checks that
// ValidateUpdate refuses the change as immutable (ErrImmutable and
// ErrInvalid) with message at path.
func invalidUpdate(t *testing.T, oldManifest, newManifest, path, message string) {
	t.Helper()
	olds, err := DecodeManifests([]byte(oldManifest))
	if err != nil {
		t.Fatalf("old manifest: %v", err)
	}
	news, err := DecodeManifests([]byte(newManifest))
	if err != nil {
		t.Fatalf("new manifest: %v", err)
	}
	err = ValidateUpdate(olds[0], news[0])
	if !errors.Is(err, ErrImmutable) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("ValidateUpdate = %v, want ErrImmutable and ErrInvalid", err)
	}
	if fe := findPath(fieldErrorsOf(t, err), path); fe == nil || !strings.Contains(fe.Message, message) {
		t.Errorf("ValidateUpdate = %v; want %q at %q", err, message, path)
	}
}
