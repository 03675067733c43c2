// Package bench owns `weft bench`: a load tool that runs Weft as separate
// processes (the Kafka-protocol server and `weft dev`), drives its ingress
// over HTTP with keep-alive connections, counts every event at its own
// subscribers, and measures the same load against two ceilings in the same
// run — a bare HTTP server answering 202 and a raw franz-go producer — so
// every figure is reported as a ratio as well as an absolute.
package bench
