// Package contract owns the data-plane contract: compiling resources into a
// versioned weftv1.Contract snapshot, and the client that data-plane
// processes use to follow the control plane's contract stream.
package contract
