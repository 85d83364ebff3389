package api

// This file holds the discovery.k8s.io/v1 kinds: EndpointSlice.

// AddressType is the kind of address an EndpointSlice holds.
type AddressType string

// The address types.
const (
	AddressTypeIPv4 AddressType = "IPv4"
	AddressTypeIPv6 AddressType = "IPv6"
	AddressTypeFQDN AddressType = "FQDN"
)

// Labels of EndpointSlices.
const (
	// LabelServiceName names the Service an EndpointSlice belongs to.
	LabelServiceName = "kubernetes.io/service-name"
	// LabelManagedBy names the controller that manages an EndpointSlice.
	LabelManagedBy = "endpointslice.kubernetes.io/managed-by"
)

// MaxEndpointsPerSlice is the most endpoints one EndpointSlice may hold.
const MaxEndpointsPerSlice = 1000

// EndpointSlice is a part of the endpoints of a Service: addresses of one
// type, the conditions of each, and the ports they all serve. A Service's
// endpoints are the union of the slices labelled with its name.
type EndpointSlice struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	// AddressType is the type of every address in the slice; immutable.
	AddressType AddressType `json:"addressType"`
	// Endpoints are at most MaxEndpointsPerSlice endpoints.
	Endpoints []Endpoint `json:"endpoints"`
	// Ports are the ports every endpoint serves. None means no port is
	// exposed; a port with no number (nil) means every port.
	Ports []EndpointSlicePort `json:"ports,omitempty"`
}

// EndpointSliceList is a list of EndpointSlices.
type EndpointSliceList = List[EndpointSlice]

// Endpoint is one backend, usually a pod, in an EndpointSlice.
type Endpoint struct {
	// Addresses are the backend's addresses (1 to 100), of the slice's
	// AddressType; consumers use the first.
	Addresses []string `json:"addresses"`
	// Conditions are the backend's readiness.
	Conditions EndpointConditions `json:"conditions,omitzero"`
	// Hostname is the backend's DNS label, if it has one.
	Hostname *string `json:"hostname,omitempty"`
	// TargetRef is the object behind the endpoint.
	TargetRef *ObjectReference `json:"targetRef,omitempty"`
	// NodeName is the node the endpoint runs on.
	NodeName *string `json:"nodeName,omitempty"`
	// Zone is the zone the endpoint runs in.
	Zone *string `json:"zone,omitempty"`
}

// EndpointConditions are an endpoint's readiness. A nil condition is
// unknown, which consumers read as true.
type EndpointConditions struct {
	// Ready: the endpoint may take new traffic (serving and not
	// terminating).
	Ready *bool `json:"ready,omitempty"`
	// Serving: the endpoint passes its readiness checks, terminating or
	// not.
	Serving *bool `json:"serving,omitempty"`
	// Terminating: the endpoint is being deleted.
	Terminating *bool `json:"terminating,omitempty"`
}

// EndpointSlicePort is a port the endpoints of a slice serve.
type EndpointSlicePort struct {
	// Name matches the Service port's name; required when a Service has
	// several ports.
	Name *string `json:"name,omitempty"`
	// Protocol defaults to TCP.
	Protocol *Protocol `json:"protocol,omitempty"`
	// Port is the port number; nil means every port.
	Port        *int32  `json:"port,omitempty"`
	AppProtocol *string `json:"appProtocol,omitempty"`
}
