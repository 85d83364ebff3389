// Package names checks the syntax of the names, keys and small values that
// Drover objects carry: object names (RFC 1123 / RFC 1035 labels and
// subdomains), label and annotation keys, label values, environment variable
// names, port names and numbers, config keys, IP addresses and percentages.
//
// Every check returns a list of human-readable problems; an empty (nil) list
// means the input is valid. Each message says what would be allowed, so the
// API server can put it next to the field path and hand it to the user
// unchanged, for example:
//
//	for _, msg := range names.IsDNS1123Label(pod.Name) {
//		errs = append(errs, fmt.Errorf("metadata.name %q: %s", pod.Name, msg))
//	}
//
// The checks are hand-written byte loops: they do not allocate for valid
// input and are cheap enough to run on every request and every label match.
package names

import (
	"net/netip"
	"strconv"
)

// Length limits enforced by the checks in this package.
const (
	// DNS1123LabelMaxLength is the longest valid RFC 1123 label.
	DNS1123LabelMaxLength = 63
	// DNS1123SubdomainMaxLength is the longest valid RFC 1123 subdomain.
	DNS1123SubdomainMaxLength = 253
	// DNS1035LabelMaxLength is the longest valid RFC 1035 label.
	DNS1035LabelMaxLength = 63
	// QualifiedNameMaxLength is the longest name part of a qualified name
	// (the part after the optional "prefix/").
	QualifiedNameMaxLength = 63
	// LabelValueMaxLength is the longest valid label value.
	LabelValueMaxLength = 63
	// PortNameMaxLength is the longest valid port name (IANA_SVC_NAME).
	PortNameMaxLength = 15
	// ConfigMapKeyMaxLength is the longest valid config key.
	ConfigMapKeyMaxLength = 253
)

// Messages, kept as constants so the checks do not build them for valid input.
const (
	dns1123LabelMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
		"and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
		"and must start and end with an alphanumeric character (e.g. 'example.com')"
	dns1035LabelMsg = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', " +
		"start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')"
	qualifiedNamePartMsg = "name part must consist of alphanumeric characters, '-', '_' or '.', " +
		"and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')"
	qualifiedNameMsg = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', " +
		"and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc'), " +
		"with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
	labelValueMsg = "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
		"and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')"
	cIdentifierMsg = "a valid C identifier must start with an alphabetic character or '_', " +
		"followed by a string of alphanumeric characters or '_' (e.g. 'my_name', or 'MY_NAME', or 'MyName')"
	envVarNameMsg = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', " +
		"and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1')"
	configMapKeyMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' " +
		"(e.g. 'key.name', or 'KEY_NAME', or 'key-name')"
	percentMsg = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%')"
	ipMsg      = "must be a valid IP address (e.g. '10.9.8.7' or '2001:db8::ffff')"
	portNumMsg = "must be between 1 and 65535, inclusive"
)

// maxLenMsg says that a value is longer than n bytes.
func maxLenMsg(n int) string {
	return "must be no more than " + strconv.Itoa(n) + " characters"
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return isLower(c) || isUpper(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// isLowerAlnum reports whether c is in [a-z0-9].
func isLowerAlnum(c byte) bool { return isLower(c) || isDigit(c) }

// dns1123LabelSyntax reports whether s matches [a-z0-9]([-a-z0-9]*[a-z0-9])?.
func dns1123LabelSyntax(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// dns1123SubdomainSyntax reports whether s is one or more RFC 1123 labels
// joined by '.'.
func dns1123SubdomainSyntax(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if !dns1123LabelSyntax(s[start:i]) {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// IsDNS1123Label checks that s is a lowercase RFC 1123 label: at most 63
// characters of [a-z0-9-], starting and ending with [a-z0-9]. Most object
// names (namespaces, nodes, containers) use this form.
func IsDNS1123Label(s string) []string {
	var errs []string
	if len(s) > DNS1123LabelMaxLength {
		errs = append(errs, maxLenMsg(DNS1123LabelMaxLength))
	}
	if !dns1123LabelSyntax(s) {
		errs = append(errs, dns1123LabelMsg)
	}
	return errs
}

// IsDNS1123Subdomain checks that s is a lowercase RFC 1123 subdomain: at most
// 253 characters, made of RFC 1123 labels joined by '.'.
func IsDNS1123Subdomain(s string) []string {
	var errs []string
	if len(s) > DNS1123SubdomainMaxLength {
		errs = append(errs, maxLenMsg(DNS1123SubdomainMaxLength))
	}
	if !dns1123SubdomainSyntax(s) {
		errs = append(errs, dns1123SubdomainMsg)
	}
	return errs
}

// IsDNS1035Label checks that s is an RFC 1035 label: at most 63 characters of
// [a-z0-9-], starting with [a-z] and ending with [a-z0-9]. Service names use
// this form because they become DNS names and environment variable prefixes.
func IsDNS1035Label(s string) []string {
	var errs []string
	if len(s) > DNS1035LabelMaxLength {
		errs = append(errs, maxLenMsg(DNS1035LabelMaxLength))
	}
	if !dns1123LabelSyntax(s) || !isLower(s[0]) {
		errs = append(errs, dns1035LabelMsg)
	}
	return errs
}

// qualifiedNamePartSyntax reports whether s matches
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], the form of a label value and of
// the name part of a qualified name. The empty string does not match.
func qualifiedNamePartSyntax(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// IsQualifiedName checks that s is a qualified name, the form of label and
// annotation keys: an optional prefix that is a DNS-1123 subdomain followed by
// '/', then a name part of at most 63 characters of [A-Za-z0-9-_.] that starts
// and ends with an alphanumeric character ("app", "drover.io/zone").
func IsQualifiedName(s string) []string {
	prefix, name := "", s
	for i := 0; i < len(s); i++ {
		if s[i] != '/' {
			continue
		}
		for j := i + 1; j < len(s); j++ {
			if s[j] == '/' {
				return []string{qualifiedNameMsg}
			}
		}
		prefix, name = s[:i], s[i+1:]
		if prefix == "" {
			// A '/' with nothing before it: report it and still check the name.
			errs := []string{"prefix part must be non-empty"}
			return append(errs, checkNamePart(name)...)
		}
		break
	}
	var errs []string
	if prefix != "" {
		for _, msg := range IsDNS1123Subdomain(prefix) {
			errs = append(errs, "prefix part "+msg)
		}
	}
	return append(errs, checkNamePart(name)...)
}

// checkNamePart checks the part of a qualified name after the prefix.
func checkNamePart(name string) []string {
	if name == "" {
		return []string{"name part must be non-empty"}
	}
	var errs []string
	if len(name) > QualifiedNameMaxLength {
		errs = append(errs, "name part "+maxLenMsg(QualifiedNameMaxLength))
	}
	if !qualifiedNamePartSyntax(name) {
		errs = append(errs, qualifiedNamePartMsg)
	}
	return errs
}

// IsValidLabelValue checks that s can be a label value: empty, or at most 63
// characters of [A-Za-z0-9-_.] that start and end with an alphanumeric
// character.
func IsValidLabelValue(s string) []string {
	if s == "" {
		return nil
	}
	var errs []string
	if len(s) > LabelValueMaxLength {
		errs = append(errs, maxLenMsg(LabelValueMaxLength))
	}
	if !qualifiedNamePartSyntax(s) {
		errs = append(errs, labelValueMsg)
	}
	return errs
}

// IsCIdentifier checks that s is a C identifier: [A-Za-z_][A-Za-z0-9_]*.
func IsCIdentifier(s string) []string {
	if s == "" || isDigit(s[0]) {
		return []string{cIdentifierMsg}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return []string{cIdentifierMsg}
		}
	}
	return nil
}

// IsEnvVarName checks that s can be the name of an environment variable set in
// a container: [-._A-Za-z][-._A-Za-z0-9]*. This is wider than a C identifier,
// as Kubernetes allows, because container runtimes pass any such name through.
func IsEnvVarName(s string) []string {
	if s == "" || isDigit(s[0]) {
		return []string{envVarNameMsg}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return []string{envVarNameMsg}
		}
	}
	return nil
}

// IsValidPortName checks that s is a port name in the IANA_SVC_NAME form of
// RFC 6335: at most 15 characters of [a-z0-9-], with at least one letter, and
// no leading, trailing or consecutive '-'.
func IsValidPortName(s string) []string {
	var errs []string
	if len(s) > PortNameMaxLength {
		errs = append(errs, maxLenMsg(PortNameMaxLength))
	}
	badChar, letter, doubleDash := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLower(c):
			letter = true
		case isDigit(c):
		case c == '-':
			if i > 0 && s[i-1] == '-' {
				doubleDash = true
			}
		default:
			badChar = true
		}
	}
	if badChar {
		errs = append(errs, "must contain only lower case alphanumeric characters (a-z, 0-9) and '-'")
	}
	if !letter {
		errs = append(errs, "must contain at least one letter (a-z)")
	}
	if doubleDash {
		errs = append(errs, "must not contain consecutive hyphens ('--')")
	}
	if s != "" && (s[0] == '-' || s[len(s)-1] == '-') {
		errs = append(errs, "must not begin or end with a hyphen ('-')")
	}
	return errs
}

// IsValidPortNum checks that port is a TCP/UDP port number, 1 to 65535.
func IsValidPortNum(port int32) []string {
	if port < 1 || port > 65535 {
		return []string{portNumMsg}
	}
	return nil
}

// IsConfigMapKey checks that s can be a key in a config map or secret, which
// becomes a file name when mounted: at most 253 characters of [-._A-Za-z0-9],
// and neither ".", "..", nor starting with "..".
func IsConfigMapKey(s string) []string {
	var errs []string
	if len(s) > ConfigMapKeyMaxLength {
		errs = append(errs, maxLenMsg(ConfigMapKeyMaxLength))
	}
	ok := s != ""
	for i := 0; ok && i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			ok = false
		}
	}
	if !ok {
		errs = append(errs, configMapKeyMsg)
	}
	switch {
	case s == ".":
		errs = append(errs, "must not be '.'")
	case s == "..":
		errs = append(errs, "must not be '..'")
	case len(s) > 2 && s[0] == '.' && s[1] == '.':
		errs = append(errs, "must not start with '..'")
	}
	return errs
}

// IsValidIP checks that s is an IPv4 address in dotted decimal form or an IPv6
// address, without a zone ("fe80::1%eth0" is rejected) and without leading
// zeros in IPv4 octets.
func IsValidIP(s string) []string {
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return []string{ipMsg}
	}
	return nil
}

// IsPercent checks that s is a non-negative decimal integer followed by '%',
// like "25%" (as in a rollout's maxUnavailable).
func IsPercent(s string) []string {
	if len(s) < 2 || s[len(s)-1] != '%' {
		return []string{percentMsg}
	}
	for i := 0; i < len(s)-1; i++ {
		if !isDigit(s[i]) {
			return []string{percentMsg}
		}
	}
	return nil
}
