// Package ceformat owns how Weft reads CloudEvents it is handed: the JSON
// event format and the JSON batch format (CloudEvents 1.0.2 and 0.3), parsed
// strictly by Weft's own decoder rather than sdk-go's lenient one, and Check,
// the strict attribute rules every event must pass wherever it enters (the
// ingress in every content mode, replies, records).
package ceformat
