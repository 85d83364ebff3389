package api

import "net/netip"

// validateEndpointSlice checks an EndpointSlice: the address type, at most
// MaxEndpointsPerSlice endpoints each with 1 to 100 addresses of that
// type, and at most 100 uniquely named ports.
func validateEndpointSlice(s *EndpointSlice) ErrorList {
	errs := validateBuiltinMeta(s)
	at := NewPath("addressType")
	types := []AddressType{AddressTypeIPv4, AddressTypeIPv6, AddressTypeFQDN}
	switch s.AddressType {
	case "":
		errs = append(errs, Required(at, "one of IPv4, IPv6, FQDN"))
	case AddressTypeIPv4, AddressTypeIPv6, AddressTypeFQDN:
	default:
		errs = append(errs, NotSupported(at, s.AddressType, types))
	}
	ep := NewPath("endpoints")
	if len(s.Endpoints) > MaxEndpointsPerSlice {
		errs = append(errs, TooMany(ep, len(s.Endpoints), MaxEndpointsPerSlice))
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		p := ep.Index(i)
		ap := p.Child("addresses")
		switch n := len(e.Addresses); {
		case n == 0:
			errs = append(errs, Required(ap, "at least one address"))
		case n > 100:
			errs = append(errs, TooMany(ap, n, 100))
		}
		for j, a := range e.Addresses {
			errs = append(errs, validateSliceAddress(s.AddressType, a, ap.Index(j))...)
		}
		if e.Hostname != nil {
			errs = append(errs, validateDNSLabel(*e.Hostname, p.Child("hostname"))...)
		}
		if e.NodeName != nil {
			errs = append(errs, validateDNSSubdomain(*e.NodeName, p.Child("nodeName"))...)
		}
	}
	pp := NewPath("ports")
	if len(s.Ports) > 100 {
		errs = append(errs, TooMany(pp, len(s.Ports), 100))
	}
	seen := make(map[string]bool, len(s.Ports))
	for i := range s.Ports {
		port := &s.Ports[i]
		p := pp.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, validateDNSLabel(name, p.Child("name"))...)
		}
		if seen[name] {
			errs = append(errs, Duplicate(p.Child("name"), name))
		}
		seen[name] = true
		if port.Protocol != nil {
			errs = append(errs, validateProtocol(*port.Protocol, p.Child("protocol"))...)
		}
		if port.Port != nil {
			errs = append(errs, validatePortNum(*port.Port, p.Child("port"))...)
		}
	}
	return errs
}

// validateSliceAddress checks one address of an EndpointSlice against its
// AddressType (unchecked when the type itself is wrong).
func validateSliceAddress(t AddressType, a string, p *Path) ErrorList {
	switch t {
	case AddressTypeFQDN:
		return validateDNSSubdomain(a, p)
	case AddressTypeIPv4, AddressTypeIPv6:
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Zone() != "" || ip.Is4In6() {
			return ErrorList{Invalid(p, a, "must be a valid IP address")}
		}
		if t == AddressTypeIPv4 && !ip.Is4() {
			return ErrorList{Invalid(p, a, "must be an IPv4 address (addressType is IPv4)")}
		}
		if t == AddressTypeIPv6 && !ip.Is6() {
			return ErrorList{Invalid(p, a, "must be an IPv6 address (addressType is IPv6)")}
		}
	}
	return nil
}
