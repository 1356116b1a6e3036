package config

import (
	"reflect"
	"slices"
	"strconv"
)

// Kinds of a setting in the exported schema.
const (
	// KindText is free text checked by validation.
	KindText = "text"
	// KindNumber is a whole number.
	KindNumber = "number"
	// KindEnum takes one of Field.Values.
	KindEnum = "enum"
	// KindBool is "true" or "false" (Field.Values).
	KindBool = "bool"
)

// Field describes one setting of the configuration document, for tools
// and the web UI that build forms from it.
type Field struct {
	// Element is the XML name of the element holding it: account, port,
	// sip, provisioning or firmware.
	Element string `json:"element"`
	// Name is the XML name of the attribute or child element.
	Name string `json:"name"`
	// Path is Element/Name, with @ before an attribute's name
	// (account/@id, account/registrar).
	Path string `json:"path"`
	// Attr is true for an attribute.
	Attr bool `json:"attr,omitempty"`
	// Key is true for the attribute naming the element among its
	// siblings (account id, port n).
	Key bool `json:"key,omitempty"`
	// Secret is true for a value forms never show and keep when sent empty.
	Secret bool `json:"secret,omitempty"`
	// Kind is KindText, KindNumber, KindEnum or KindBool.
	Kind string `json:"kind"`
	// Values are the allowed values of a KindEnum or KindBool setting; an
	// empty value is also allowed when Optional.
	Values []string `json:"values,omitempty"`
	// Optional is true when the setting may be left empty (0 for a
	// number), which means Default.
	Optional bool `json:"optional,omitempty"`
	// Default is what an empty value means, in words or as a value; ""
	// when there is nothing to say.
	Default string `json:"default,omitempty"`
	// Help says what the setting does, in one sentence.
	Help string `json:"help"`
	// Label is a short name for a form.
	Label string `json:"label"`
	// Group gathers related settings of an element in a form ("FXO
	// trunk", "Features"); "" is the element's main group.
	Group string `json:"group,omitempty"`
}

// fieldMeta is what the struct tags cannot say about a setting.
type fieldMeta struct {
	label, help, def, group string
	values                  []string
	boolean, required       bool
}

var trueFalse = []string{"true", "false"}

// fieldMetas describe every setting, by Element/Name; a test fails when a
// setting of the schema has no entry here (see Schema).
var fieldMetas = map[string]fieldMeta{
	"account/id":               {label: "Id", help: "Names the account for a port's account attribute; letters, digits and . _ : -.", required: true},
	"account/registrar":        {label: "Registrar", help: "Registrar URI, sip:host[:port][;transport=...] or sips:host[:port]; empty for a direct account that does not register.", def: "direct account"},
	"account/user":             {label: "User", help: "SIP user part, usually the extension number.", required: true},
	"account/auth-user":        {label: "Auth user", help: "Digest authentication user.", def: "the user"},
	"account/password":         {label: "Password", help: "Digest password; required with a registrar."},
	"account/display-name":     {label: "Display name", help: "Name shown to the called party."},
	"account/expires":          {label: "Expires (s)", help: "Registration lifetime asked for, " + strconv.Itoa(MinExpires) + ".." + strconv.Itoa(MaxExpires) + " seconds.", def: strconv.Itoa(DefaultExpires)},
	"account/transport":        {label: "Transport", help: "SIP transport to the registrar; tls encrypts signalling and is needed for SRTP keys to stay secret.", values: transports, def: "udp, or the registrar's"},
	"account/ca-file":          {label: "CA file", help: "PEM file of the CAs trusted for TLS (a path on the gateway, or upload one); empty means the system roots.", def: "system roots", group: "Security"},
	"account/srtp":             {label: "SRTP", help: "Media encryption: mandatory refuses unencrypted calls, optional offers it.", values: srtpModes, def: DefaultSRTPTLS + " on tls, " + DefaultSRTP + " on udp and tcp", group: "Security"},
	"account/codecs":           {label: "Codecs", help: "Comma separated preference list of pcmu, pcma and g722.", def: DefaultCodecs},
	"account/mwi-subscribe":    {label: "Subscribe to MWI", help: "Subscribe to message-waiting events at the registrar.", boolean: true, def: "false", group: "Voicemail"},
	"account/mailbox":          {label: "Mailbox", help: "sip: URI subscribed to for message waiting.", def: "the account's address of record", group: "Voicemail"},
	"account/keep-alive":       {label: "Keep-alive (s)", help: "NAT keep-alive interval, 0..3600 seconds: OPTIONS over UDP, CRLF over TCP/TLS; 0 is off.", def: "25", group: "NAT and servers"},
	"account/stun":             {label: "STUN server", help: "host:port asked for the public address put in the SDP.", def: "none", group: "NAT and servers"},
	"account/outbound-proxy":   {label: "Outbound proxy", help: "sip: or sips: URI every request to the registrar's domain is routed through (loose routing).", def: "none", group: "NAT and servers"},
	"account/backup-registrar": {label: "Backup registrar", help: "sip: or sips: URI registered at when the registrar's every address fails.", def: "none", group: "NAT and servers"},

	"port/n":                   {label: "Port", help: "Port number, 1.." + strconv.Itoa(MaxPorts) + ".", required: true},
	"port/account":             {label: "Account", help: "Id of the account the port uses; each account serves at most one port.", required: true},
	"port/country":             {label: "Country", help: "Selects tones, ring cadence, caller-ID signalling and line impedance.", values: countries, def: DefaultCountry},
	"port/dial-plan":           {label: "Dial plan", help: "Digit map such as (1xx|[2-9]x.); empty dials until the inter-digit timeout or #."},
	"port/local-features":      {label: "Local features", help: "false leaves star codes and flash to the PBX.", boolean: true, def: "true", group: "Features"},
	"port/flash-relay":         {label: "Flash relay", help: "Sends a hook flash in a call to the PBX this way; empty handles flash locally.", values: flashRelayModes, def: "handled locally", group: "Features"},
	"port/dtmf":                {label: "DTMF mode", help: "How the phone's digits go out in a call.", values: dtmfModes, def: "rfc4733"},
	"port/star-codes":          {label: "Star codes", help: "Overrides of the feature codes, name=code pairs such as dnd-on=*78.", group: "Features"},
	"port/hotline":             {label: "Hotline", help: "Number dialed when the phone goes off hook.", group: "Features"},
	"port/hotline-delay":       {label: "Hotline delay (s)", help: "Warm line wait, 0..60 seconds; 0 is a hot line.", def: "0", group: "Features"},
	"port/extension":           {label: "Extension", help: "Local number other ports dial to reach this one."},
	"port/caller-id":           {label: "Caller-ID standard", help: "Overrides the country's caller-ID signalling.", values: callerIDModes, def: "the country's"},
	"port/pstn-to":             {label: "PSTN calls go to", help: "FXO: extension, number or sip: URI for calls from the line; empty gives a second dial tone.", group: "FXO trunk"},
	"port/answer-rings":        {label: "Answer after rings", help: "FXO: answer the line after this many rings, 1..20.", def: "when the SIP side answers", group: "FXO trunk"},
	"port/answer-rule":         {label: "Answer detection", help: "FXO: how a dialed PSTN number's answer is learnt.", values: []string{"polarity", "immediate"}, def: "polarity", group: "FXO trunk"},
	"port/silence-timeout":     {label: "Silence timeout (s)", help: "FXO: end a call after this many seconds of silence, 1..3600.", def: "never", group: "FXO trunk"},
	"port/dial-tone":           {label: "Dial tone", help: "FXO: wait for the line's dial tone, or dial blind after 2 s.", values: []string{"detect", "blind"}, def: "detect", group: "FXO trunk"},
	"port/pstn-strip":          {label: "Strip digits", help: "FXO: leading digits removed before dialing, 0..20.", def: "0", group: "FXO trunk"},
	"port/pstn-prefix":         {label: "Prefix", help: "FXO: digits put in front before dialing.", group: "FXO trunk"},
	"port/echo-canceller":      {label: "Echo canceller", help: "Line echo canceller on the port's calls.", values: onOff, def: "on", group: "Audio"},
	"port/echo-tail":           {label: "Echo tail (ms)", help: "Echo canceller tail, " + strconv.Itoa(MinEchoTail) + ".." + strconv.Itoa(MaxEchoTail) + " ms.", def: strconv.Itoa(DefaultEchoTail), group: "Audio"},
	"port/fax":                 {label: "Fax", help: "auto switches to pass-through on fax or modem tones; on is a fax line; off never switches.", values: faxModes, def: "auto", group: "Audio"},
	"port/flash":               {label: "Flash window", help: "Hook-flash window MIN-MAX such as 100ms-800ms.", def: "the country's", group: "Features"},
	"port/call-waiting":        {label: "Call waiting", help: "false answers a second call with busy.", boolean: true, def: "true", group: "Features"},
	"port/three-way":           {label: "Three-way calling", help: "false makes a flash in a consultation swap the calls.", boolean: true, def: "true", group: "Features"},
	"port/conference-transfer": {label: "Conference transfer", help: "true transfers the two others to each other when the phone hangs up a three-way call.", boolean: true, def: "false", group: "Features"},
	"port/tx-gain":             {label: "Transmit gain (dB)", help: "Gain on the audio toward the network, -12..12 dB in 0.5 dB steps.", def: "0", group: "Audio"},
	"port/rx-gain":             {label: "Receive gain (dB)", help: "Gain on the audio toward the line, -12..12 dB in 0.5 dB steps.", def: "0", group: "Audio"},
	"port/hunt-timeout":        {label: "Hunt timeout (s)", help: "FXO: seconds each target of a pstn-to hunt list rings before the next, 5..300.", def: "20", group: "FXO trunk"},

	"sip/user-agent":       {label: "User agent", help: "Sent in User-Agent and Server headers.", def: "Loopstart"},
	"sip/direct-calls":     {label: "Direct calls", help: "true accepts calls from any address for an account's own user.", boolean: true, def: "false"},
	"sip/ignore-strangers": {label: "Ignore strangers", help: "true leaves requests from unknown senders unanswered instead of 404.", boolean: true, def: "false"},
	"sip/dns":              {label: "DNS server", help: "IP[:port] every registrar, proxy and STUN name is looked up at.", def: "the system's"},

	"provisioning/url":               {label: "Server URL", help: "tftp://, http:// or https:// address of the configuration server; may be left empty to use the one DHCP names."},
	"provisioning/interval":          {label: "Interval (s)", help: "Resync period in seconds.", def: strconv.Itoa(DefaultProvisioningInterval)},
	"provisioning/allow-dhcp":        {label: "Use DHCP servers", help: "false ignores the provisioning servers a DHCP lease names (options 66/67/150/160/43).", boolean: true, def: "true"},
	"provisioning/allow-insecure":    {label: "Allow plain DHCP servers", help: "true lets a DHCP-supplied tftp:// or http:// server send the profile unencrypted in transit; a plain Server URL is its own opt-in, and a gateway with no provisioning settings at all takes plain DHCP servers (zero-touch).", boolean: true, def: "false"},
	"provisioning/require-signature": {label: "Require signed profiles", help: "true refuses a profile without a valid ed25519 signature file (<profile>.sig) by a trusted firmware signing key; false still checks a signature that is present.", boolean: true, def: "false"},
	"provisioning/profile-key":       {label: "Profile key", help: "Pass phrase of encrypted profiles (openssl enc -aes-256-cbc -pbkdf2 -iter 100000); empty uses the key file in the data directory."},

	"firmware/url":             {label: "Firmware image URL", help: "Address of a signed image; $MAC, $MODEL and $VERSION expand.", required: true},
	"firmware/allow-downgrade": {label: "Allow downgrade", help: "true lets provisioning install an older image.", boolean: true, def: "false"},
}

// Schema lists every setting of the document, element by element in
// document order and in struct order within an element. It is built from
// the struct tags the parser walks, so a new setting appears here as soon
// as it is in the struct; what the tags cannot say (kind, allowed values,
// default, help) comes from a table a test keeps complete.
func Schema() []Field {
	var out []Field
	for _, es := range schema().elems {
		for _, f := range es.fields {
			path := es.name + "/" + f.name
			m := fieldMetas[path]
			fd := Field{Element: es.name, Name: f.name, Attr: f.attr, Key: f.key, Secret: f.secret,
				Help: m.help, Label: m.label, Default: m.def, Group: m.group, Optional: !m.required}
			fd.Path = es.name + "/" + f.name
			if f.attr {
				fd.Path = es.name + "/@" + f.name
			}
			if fd.Label == "" {
				fd.Label = f.name
			}
			switch {
			case m.boolean:
				fd.Kind, fd.Values = KindBool, slices.Clone(trueFalse)
			case m.values != nil:
				fd.Kind, fd.Values = KindEnum, slices.Clone(m.values)
			case f.kind == reflect.Int:
				fd.Kind = KindNumber
			default:
				fd.Kind = KindText
			}
			out = append(out, fd)
		}
	}
	return out
}

// SchemaOf returns the settings of one element (account, port, sip,
// provisioning or firmware), in struct order.
func SchemaOf(element string) []Field {
	var out []Field
	for _, f := range Schema() {
		if f.Element == element {
			out = append(out, f)
		}
	}
	return out
}
