// Package manifests holds example manifests of a small application, as
// YAML files to apply with `drover apply -f examples/manifests/` or
// kubectl: a web Deployment (nginx, three replicas, a readiness probe,
// resource requests and limits) with its Service, a ConfigMap and a Secret
// the Deployment mounts and reads, and a Job. See README.md.
//
// The package has no code. Its tests decode every file strictly, default
// and validate each object as the API server does, and apply them all to
// an API server running the built-in controllers, the scheduler and
// simulated nodes, until the Deployment is available and the Job
// complete; so that a manifest that no longer decodes, validates or runs
// fails the build.
package manifests
