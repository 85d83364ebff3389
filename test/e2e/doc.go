// Package e2e holds Drover's black-box end-to-end tests: an API server
// started in-process over the in-memory store, driven over HTTP by the
// upstream kubectl (built from cmd/kubectl) and by client-go, exactly as a
// user's tools would drive a cluster.
//
// It is a separate module so that its k8s.io dependencies stay out of the
// library's go.mod. Run it from this directory:
//
//	go test -count=1 ./...
package e2e
