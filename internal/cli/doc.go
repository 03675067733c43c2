// Package cli owns the `weft` command line: resource commands that talk to a
// control plane (apply, get, describe, delete, broker, trigger), event tools
// (send, display, watch) and `weft dev`.
package cli
