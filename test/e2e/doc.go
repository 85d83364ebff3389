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
// The kubectl and client-go tests run against one of two targets, chosen
// by DROVER_E2E_TARGET:
//
//   - unset (or "in-process"): the in-process API server above, with no
//     controllers, scheduler or node;
//   - "up": one `drover up --runtime fake` process, built from this
//     checkout and started once for the whole run on a temp data directory
//     and a free loopback port; every test uses the kubeconfig it writes,
//     and the run fails unless it stops cleanly on SIGINT at the end. Its
//     controllers, scheduler and node agent run: the pods a test drives by
//     hand name a scheduler that does not exist (so they stay Pending, as
//     in-process), kubectl exec and top go to the real node agent over
//     the fake runtime, and a deleted namespace is emptied and removed.
//     The tests that write what a controller writes skip, saying why
//     ("in-process server only: ..."), as do those that start their own
//     drover processes whatever the target.
//
// It is a separate module so that its k8s.io dependencies stay out of the
// library's go.mod. Run it from this directory, against both targets:
//
//	go test -count=1 ./...
//	DROVER_E2E_TARGET=up go test -count=1 ./...
package e2e
