package deployment_test

import (
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/deployment"
)

// A rolling update of 10 replicas with the default 25% bounds may run 13
// pods (surge rounds up) and have 8 available (unavailability rounds
// down).
func ExampleBounds() {
	replicas := int32(10)
	d := &api.Deployment{Spec: api.DeploymentSpec{Replicas: &replicas}}
	surge, unavailable, err := deployment.Bounds(d)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("at most %d pods, at least %d available\n", replicas+surge, replicas-unavailable)
	// Output: at most 13 pods, at least 8 available
}
