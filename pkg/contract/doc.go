// Package contract is the data plane's side of the contract stream: the
// Client a data-plane process runs to follow the control plane's compiled
// contract, acknowledge each version it applied and report what is wrong with
// its egresses, and the Applier interface it feeds. The compiler that makes
// contracts lives beside the control plane (pkg/controlplane/compile), so a
// data-plane binary links neither the resource API nor its validation.
package contract
