package api

import (
	"fmt"
	"testing"
)

func baseEndpointSlice() *EndpointSlice {
	return &EndpointSlice{
		ObjectMeta:  storedMeta("web-abc12", "default"),
		AddressType: AddressTypeIPv4,
		Endpoints: []Endpoint{{
			Addresses:  []string{"10.244.1.5"},
			Conditions: EndpointConditions{Ready: new(true), Serving: new(true), Terminating: new(false)},
			NodeName:   new("node-1"),
			TargetRef:  &ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1"},
		}},
		Ports: []EndpointSlicePort{{Name: new("http"), Port: new(int32(8080)), Protocol: new(ProtocolTCP)}},
	}
}

func TestValidateEndpointSlice(t *testing.T) {
	runCreateCases(t, baseEndpointSlice, []vcase[*EndpointSlice]{
		{"no endpoints", func(s *EndpointSlice) { s.Endpoints = nil }, nil},
		{"missing address type", func(s *EndpointSlice) { s.AddressType = "" }, wants(wReq("addressType"))},
		{"unknown address type", func(s *EndpointSlice) { s.AddressType = "IPX" }, wants(wNS("addressType"))},
		{"IPv6 address in an IPv4 slice", func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"fd00::5"} },
			wants(wInv("endpoints[0].addresses[0]"))},
		{"IPv6 slice", func(s *EndpointSlice) {
			s.AddressType = AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"fd00::5"}
		}, nil},
		{"not an address", func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.0.0"} },
			wants(wInv("endpoints[0].addresses[0]"))},
		{"FQDN", func(s *EndpointSlice) {
			s.AddressType = AddressTypeFQDN
			s.Endpoints[0].Addresses = []string{"db.example.com"}
		}, nil},
		{"no address", func(s *EndpointSlice) { s.Endpoints[0].Addresses = nil }, wants(wReq("endpoints[0].addresses"))},
		{"bad hostname", func(s *EndpointSlice) { s.Endpoints[0].Hostname = new("Web_1") }, wants(wInv("endpoints[0].hostname"))},
		{"too many endpoints", func(s *EndpointSlice) {
			for i := range MaxEndpointsPerSlice {
				s.Endpoints = append(s.Endpoints, Endpoint{Addresses: []string{fmt.Sprintf("10.1.%d.%d", i/250, i%250)}})
			}
		}, wants(wMany("endpoints"))},
		{"duplicate port names", func(s *EndpointSlice) {
			s.Ports = append(s.Ports, EndpointSlicePort{Name: new("http"), Port: new(int32(9090))})
		}, wants(wDup("ports[1].name"))},
		{"bad port", func(s *EndpointSlice) { s.Ports[0].Port = new(int32(70000)) }, wants(wInv("ports[0].port"))},
		{"bad protocol", func(s *EndpointSlice) { s.Ports[0].Protocol = new(Protocol("ICMP")) }, wants(wNS("ports[0].protocol"))},
		{"every port", func(s *EndpointSlice) { s.Ports[0].Port = nil }, nil},
	})
	runUpdateCases(t, baseEndpointSlice, []ucase[*EndpointSlice]{
		{"address type is immutable", func(s, _ *EndpointSlice) {
			s.AddressType = AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"fd00::5"}
		}, wants(wInv("addressType"))},
		{"endpoints change", func(s, _ *EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.244.1.6"} }, nil},
	})
}
