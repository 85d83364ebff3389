// Package website is a kind of its own and its controller, written the way
// a user of Drover writes them: a Website says "serve this image, this many
// times, on this port", and the controller makes a Deployment and a
// Service for it and reports what it sees in the Website's status.
//
// The kind is a plain Go struct registered in a scheme with AddToScheme; no
// code is generated. The API server then serves it like a built-in kind: it
// defaults it (Website.Default), validates it (Website.Validate, with field
// paths in the 422 answer), keeps its status apart (the status
// subresource), counts its spec changes in metadata.generation, and shows
// it to kubectl get with the printer columns IMAGE, REPLICAS, READY and URL.
//
// The controller is in two layers. children.go is pure: from a Website it
// computes the Deployment and the Service it wants (applyDeployment,
// applyService) and the status it should report (nextStatus); tests call
// those functions directly. reconciler.go is the thin driver: it reads the
// cache, calls them, and writes the differences through the API server.
//
// Deleting a Website leaves its Deployment and Service to Drover's garbage
// collector, which deletes objects whose controller owner is gone: the
// controller puts an owner reference on both and holds no finalizer (the
// example's process runs the collector, controller/garbagecollector, next
// to this controller).
package website

import (
	"github.com/drover-io/drover/api"
)

// GroupVersion is the API group and version of Websites.
var GroupVersion = api.GroupVersion{Group: "example.drover.io", Version: "v1"}

// kind is how the scheme, the API server and kubectl know Websites.
var kind = api.Kind{
	GroupVersionKind: GroupVersion.WithKind("Website"),
	Resource:         "websites",
	Singular:         "website",
	ShortNames:       []string{"ws"},
	Namespaced:       true,
	Categories:       []string{"all"},
	Subresources:     []string{"status"},
	PrinterColumns: []api.PrinterColumn{
		{Name: "Image", Type: "string", JSONPath: ".spec.image", Description: "The image served."},
		{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas", Description: "The replicas wanted."},
		{Name: "Ready", Type: "integer", JSONPath: ".status.readyReplicas", Description: "The replicas ready."},
		{Name: "URL", Type: "string", JSONPath: ".status.url", Description: "Where the website is served in the cluster."},
	},
}

// AddToScheme registers the Website kind in s. Call it once, on the scheme
// that the API server and the client share, before making either.
func AddToScheme(s *api.Scheme) error { return api.Register[Website](s, kind) }

// Website is a web server: an image run as a number of replicas behind a
// Service.
type Website struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           WebsiteSpec   `json:"spec"`
	Status         WebsiteStatus `json:"status,omitzero"`
}

// WebsiteList is a list of Websites.
type WebsiteList = api.List[Website]

// WebsiteSpec is what the user asks for.
type WebsiteSpec struct {
	// Image is the container image that serves the website. Required.
	Image string `json:"image"`
	// Replicas is how many copies to run, at least 0. Nil means 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// Port is the port the image listens on and the Service serves, 1 to
	// 65535. 0 means 80.
	Port int32 `json:"port,omitempty"`
}

// WebsiteStatus is what the controller observes. Users do not write it:
// the controller does, through the status subresource.
type WebsiteStatus struct {
	// ObservedGeneration is the metadata.generation of the spec that the
	// rest of the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ReadyReplicas is how many replicas of the Deployment are ready.
	ReadyReplicas int32 `json:"readyReplicas"`
	// URL is where the website is served inside the cluster, once its
	// Service exists.
	URL string `json:"url,omitempty"`
	// Conditions are the controller's observations; see ConditionReady.
	Conditions []Condition `json:"conditions,omitempty"`
}

// ConditionReady is the type of the condition that is True when every
// wanted replica of the current spec is ready and the Service exists.
const ConditionReady = "Ready"

// Condition is one observation about a Website, in the shape of the
// Kubernetes metav1.Condition that kubectl and other tools know.
type Condition struct {
	// Type is what the condition is about, such as "Ready".
	Type string `json:"type"`
	// Status is True, False or Unknown.
	Status api.ConditionStatus `json:"status"`
	// ObservedGeneration is the Website's generation the condition was
	// set for.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime api.Time `json:"lastTransitionTime,omitzero"`
	// Reason is a CamelCase word for why, such as "ReplicasNotReady".
	Reason string `json:"reason,omitempty"`
	// Message says why, for people.
	Message string `json:"message,omitempty"`
}

// Condition returns the condition of type t, or nil.
func (s *WebsiteStatus) Condition(t string) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// SwaggerDoc gives kubectl explain its descriptions.
func (Website) SwaggerDoc() map[string]string {
	return map[string]string{
		"": "Website is a web server: an image run as a number of replicas behind a Service.",
	}
}

// SwaggerDoc gives kubectl explain its descriptions.
func (WebsiteSpec) SwaggerDoc() map[string]string {
	return map[string]string{
		"":         "WebsiteSpec is what the user asks for.",
		"image":    "Image is the container image that serves the website. Required.",
		"replicas": "Replicas is how many copies to run, at least 0. Default 1.",
		"port":     "Port is the port the image listens on and the Service serves, 1 to 65535. Default 80.",
	}
}

// SwaggerDoc gives kubectl explain its descriptions.
func (WebsiteStatus) SwaggerDoc() map[string]string {
	return map[string]string{
		"":                   "WebsiteStatus is what the website controller observes.",
		"observedGeneration": "ObservedGeneration is the metadata.generation of the spec the status describes.",
		"readyReplicas":      "ReadyReplicas is how many replicas of the Deployment are ready.",
		"url":                "URL is where the website is served inside the cluster.",
		"conditions":         "Conditions are the controller's observations; Ready is True when every replica is ready.",
	}
}
