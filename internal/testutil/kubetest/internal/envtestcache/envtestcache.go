// Package envtestcache points envtest's port lock files into a temporary
// directory instead of the user's cache directory.
//
// envtest (sigs.k8s.io/controller-runtime/pkg/internal/testing/addr) fixes
// the directory of its port lock files once, in an init function, from
// os.UserCacheDir ($XDG_CACHE_HOME, else ~/.cache): setting XDG_CACHE_HOME in
// TestMain is too late. Go initializes packages in import-path order among
// those whose imports are ready (the Go spec, "Package initialization"), so
// this package — a leaf whose path sorts before sigs.k8s.io — runs its init
// first and sets XDG_CACHE_HOME to Dir; kubetest's own init, which runs after
// envtest's because kubetest imports it, calls Restore. Between the two only
// package initializers run.
package envtestcache

import (
	"os"
	"path/filepath"
	"strconv"
)

// Dir holds envtest's lock files: one directory per user under the system's
// temporary directory, shared by the test processes of one machine so that
// the locks still keep parallel test packages off each other's ports.
var Dir = filepath.Join(os.TempDir(), "weft-kubetest-"+strconv.Itoa(os.Getuid()))

var (
	saved, wasSet = os.LookupEnv("XDG_CACHE_HOME")
)

func init() {
	if err := os.MkdirAll(Dir, 0o700); err == nil {
		os.Setenv("XDG_CACHE_HOME", Dir)
	}
}

// Restore puts XDG_CACHE_HOME back as the process started with it.
func Restore() {
	if wasSet {
		os.Setenv("XDG_CACHE_HOME", saved)
	} else {
		os.Unsetenv("XDG_CACHE_HOME")
	}
}
