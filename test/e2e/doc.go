// Package e2e holds Drover's black-box end-to-end tests:
//
//   - an API server started in-process over the in-memory store, driven
//     over HTTP by the upstream kubectl (built from cmd/kubectl) and by
//     client-go, exactly as a user's tools would drive a cluster (kubectl
//     exec and top against a fake node agent included);
//   - the drover binary itself: `drover up` with the real node agent on
//     runc (TestDroverUpWorkflow: apply examples/manifests, rollouts and
//     rollbacks, a deleted pod replaced, logs and exec, a restart that
//     adopts the running containers; it needs root and runc, and skips
//     without them unless DROVER_INTEGRATION=1), and a three-member
//     `drover server` cluster with a `drover agent` whose leader is killed
//     (TestHAKillLeader).
//
// It is a separate module so that its k8s.io dependencies stay out of the
// library's go.mod. Run it from this directory:
//
//	go test -count=1 ./...
package e2e
