// Package config is the gateway's native configuration: an XML document with
// a typed schema, documented defaults, strict validation that names the
// exact field (and line) of every problem, and an atomic file store.
//
// A minimal file:
//
//	<loopstart>
//	  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
//	  <port n="1" account="1"/>
//	</loopstart>
//
// Parsing is strict: unknown elements and attributes, repeated single
// elements, text where none belongs and values that do not fit are all
// errors. Every problem is reported, not only the first, as a
// *ValidationError whose Problems carry a path such as
// loopstart/account[id=2]/expires and, for parsed files, a line number.
//
// Leading and trailing white space of every element's text is ignored.
//
// The struct tags of Config and its element types are the one schema: the
// XML parser, Merge (a partial provisioning file onto a config),
// ParseJSON and JSONMap (the web API's JSON form, keyed by the XML names)
// and ApplyForm (the web pages' forms) all walk it, and everything they
// decode gets the same defaults and validation.
package config

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults filled in by ApplyDefaults.
const (
	// DefaultExpires is the registration lifetime asked for, in seconds,
	// when an account has no <expires>.
	DefaultExpires = 3600
	// MinExpires and MaxExpires bound <expires>.
	MinExpires, MaxExpires = 60, 86400
	// DefaultTransport is used when neither <transport> nor the registrar
	// URI says otherwise (a sips: registrar or ;transport=tls means tls).
	DefaultTransport = "udp"
	// DefaultSRTP is the media encryption policy when <srtp> is absent
	// on an account whose signalling is clear (udp or tcp): SDES keys in
	// clear SIP would protect nothing against an eavesdropper.
	DefaultSRTP = "off"
	// DefaultSRTPTLS is the media encryption policy when <srtp> is absent
	// on an account on tls: SRTP offered and accepted, clear RTP only with
	// a peer that cannot do SRTP.
	DefaultSRTPTLS = "optional"
	// DefaultCodecs is the codec preference when <codecs> is absent.
	DefaultCodecs = "pcmu,pcma"
	// DefaultCountry selects the tones, ring cadence and line impedance
	// when a port has no <country>.
	DefaultCountry = "us"
	// DefaultProvisioningInterval is the resync period, in seconds, when
	// <provisioning> has no <interval>.
	DefaultProvisioningInterval = 86400
	// MinProvisioningInterval and MaxProvisioningInterval bound <interval>.
	MinProvisioningInterval, MaxProvisioningInterval = 60, 30 * 86400
	// MaxPorts is the highest port number a board may have.
	MaxPorts = 32
	// DefaultDialPlan is the digit map of the built-in configuration: a
	// three-digit local extension 1xx, or any number starting 2-9 or 0
	// (ended by the inter-digit timeout or #).
	DefaultDialPlan = "(1xx|[2-9]x.|0x.)"
	// DefaultEchoTail, MinEchoTail and MaxEchoTail bound a port's
	// <echo-tail> in milliseconds.
	DefaultEchoTail = 64
	MinEchoTail     = 16
	MaxEchoTail     = 128
)

// Allowed values of the enumerated fields.
var (
	transports    = []string{"udp", "tcp", "tls"}
	srtpModes     = []string{"off", "optional", "mandatory"}
	codecNames    = []string{"pcmu", "pcma", "g722"}
	callerIDModes = []string{"off", "bell202", "v23", "dtmf"}
	onOff         = []string{"on", "off"}
	faxModes      = []string{"auto", "on", "off"}
)

// countries are the <country> codes: dsp.Countries, which this std-only
// package cannot import (a test keeps the two lists equal).
var countries = []string{"at", "au", "be", "br", "ca", "ch", "cn", "de", "es", "fr",
	"in", "it", "jp", "mx", "nl", "nz", "pl", "ru", "se", "uk", "us"}

// Countries returns the country codes a port's <country> takes, sorted.
func Countries() []string { return slices.Clone(countries) }

// Config is the whole gateway configuration, the <loopstart> document.
type Config struct {
	XMLName xml.Name `xml:"loopstart"`
	// Accounts are the SIP identities ports use.
	Accounts []Account `xml:"account"`
	// Ports binds analog ports to accounts.
	Ports []Port `xml:"port"`
	// SIP holds user agent wide settings; nil means all defaults. The
	// listen address comes from the --sip flag, not from the file.
	SIP *SIP `xml:"sip,omitempty"`
	// Provisioning says where to fetch configuration from; nil means the
	// gateway does not provision itself.
	Provisioning *Provisioning `xml:"provisioning,omitempty"`
	// Firmware names a signed firmware image to install; nil means
	// firmware is only upgraded by hand (the web UI).
	Firmware *Firmware `xml:"firmware,omitempty"`

	// src remembers where each element and field came from in the parsed
	// file, so semantic problems can name a line. Nil for built configs.
	src *source
}

// Account is one SIP identity, <account id="...">.
type Account struct {
	// ID names the account for <port account="...">; unique, non-empty.
	ID string `xml:"id,attr" config:"key"`
	// Registrar is the registrar URI, sip:host[:port][;transport=udp|tcp|tls]
	// or sips:host[:port]. Empty means a direct (local) account that does
	// not register: calls reach it at the gateway's own address.
	Registrar string `xml:"registrar,omitempty"`
	// User is the SIP user part, usually the extension number.
	User string `xml:"user"`
	// AuthUser is the digest authentication user; empty means User.
	AuthUser string `xml:"auth-user,omitempty"`
	// Password is the digest password; required with a registrar.
	Password string `xml:"password,omitempty" config:"secret"`
	// DisplayName is shown to the called party.
	DisplayName string `xml:"display-name,omitempty"`
	// Expires is the registration lifetime in seconds; 0 means
	// DefaultExpires, otherwise MinExpires..MaxExpires.
	Expires int `xml:"expires,omitempty"`
	// Transport is udp, tcp or tls. Empty means tls for a sips: registrar
	// or the registrar's ;transport= parameter, else DefaultTransport.
	Transport string `xml:"transport,omitempty"`
	// CAFile is a PEM file of trusted CAs for TLS; empty means the system
	// roots. Certificate verification is always on.
	CAFile string `xml:"ca-file,omitempty"`
	// SRTP is off, optional or mandatory; empty means DefaultSRTPTLS on
	// an account on tls, DefaultSRTP on udp or tcp.
	SRTP string `xml:"srtp,omitempty"`
	// Codecs is a comma separated preference list of pcmu, pcma and g722;
	// empty means DefaultCodecs.
	Codecs string `xml:"codecs,omitempty"`
	// MWISubscribe is "true" to subscribe to the account's message-waiting
	// events (RFC 3842) at its registrar, refreshed while it is
	// registered; empty or "false" takes only the message-summary NOTIFYs
	// the registrar sends unasked. It needs a registrar.
	MWISubscribe string `xml:"mwi-subscribe,omitempty"`
	// Mailbox is the sip: or sips: URI subscribed to, such as
	// sip:*97@pbx.example; empty means the account's address of record
	// (user@registrar host).
	Mailbox string `xml:"mailbox,omitempty"`
	// KeepAlive is the NAT keep-alive interval in seconds (OPTIONS over
	// UDP, CRLF pings over TCP and TLS); empty means DefaultKeepAlive,
	// "0" turns keep-alives off. See KeepAliveSeconds.
	KeepAlive string `xml:"keep-alive,omitempty"`
	// STUN is a STUN server, host:port, asked for the public address put
	// in SDP; empty means none.
	STUN string `xml:"stun,omitempty"`
	// OutboundProxy is a sip: or sips: URI every request outside a
	// dialog is sent through (loose routing); empty means none.
	OutboundProxy string `xml:"outbound-proxy,omitempty"`
	// BackupRegistrar is a sip: or sips: URI registered at when every
	// target of the registrar fails; empty means none.
	BackupRegistrar string `xml:"backup-registrar,omitempty"`
}

// DefaultKeepAlive is the keep-alive interval in seconds when
// <keep-alive> is empty.
const DefaultKeepAlive = 25

// KeepAliveSeconds returns the validated keep-alive interval in seconds:
// DefaultKeepAlive when unset, 0 when off.
func (a *Account) KeepAliveSeconds() int {
	if a.KeepAlive == "" {
		return DefaultKeepAlive
	}
	n, err := strconv.Atoi(a.KeepAlive)
	if err != nil || n < 0 {
		return DefaultKeepAlive
	}
	return n
}

// MWISubscribeOn reports whether <mwi-subscribe> is true.
func (a *Account) MWISubscribeOn() bool {
	return a.MWISubscribe == "true"
}

// Port is one analog port, <port n="1" account="1">.
type Port struct {
	// N is the port number, 1..MaxPorts.
	N int `xml:"n,attr" config:"key"`
	// Account is the id of the account the port uses; each account serves
	// at most one port.
	Account string `xml:"account,attr"`
	// Country is one of Countries (us, ca, uk, de, fr, nl, it, es, au,
	// br, jp, cn, ...); empty means DefaultCountry.
	Country string `xml:"country,omitempty"`
	// DialPlan is the port's dial plan: an MGCP style digit map (RFC 3435
	// section 2.1.5) such as "(1xx|[2-9]x.)"; a Cisco SPA plan, which adds
	// <dialed:sent> substitutions, '!' bars, ',' second dial tone and
	// S/L/P timers ("(<9:>xx.|1900x.!|1xxxxxxxxxxS0)"); or a Grandstream
	// plan in braces ("{x+|<=1617>[2-9]xxxxxx|^1900x.}"). Empty means dial
	// until the inter-digit timeout or #. Star codes (StarCodes) are
	// recognised whatever the plan.
	DialPlan string `xml:"dial-plan,omitempty"`
	// LocalFeatures is "false" to leave calling features to the PBX: star
	// codes are dialed like any number and flash goes to the PBX
	// (FlashRelay; without it the port still handles flash itself); empty or "true" runs forwarding, do-not-disturb and
	// the other star codes on the port.
	LocalFeatures string `xml:"local-features,omitempty"`
	// FlashRelay sends a hook flash in a call to the PBX: rfc4733 (event
	// 16, also offered in SDP), info-hookflash (SIP INFO
	// application/hook-flash signal=hf) or info-dtmf (SIP INFO
	// application/dtmf-relay Signal=16). Empty handles flash locally.
	FlashRelay string `xml:"flash-relay,omitempty"`
	// DTMF is how the phone's digits go out in a call: rfc4733 (RFC 4733
	// telephone-events when the call negotiated them, else in band) or
	// info (SIP INFO application/dtmf-relay). Empty means rfc4733. Digits
	// that arrive in SIP INFO are played to the phone either way.
	DTMF string `xml:"dtmf,omitempty"`
	// StarCodes overrides the default star codes: comma separated
	// name=code pairs (StarCodeNames), for example "dnd-on=*78,dnd-off=*79";
	// an empty code turns that feature code off.
	StarCodes string `xml:"star-codes,omitempty"`
	// Hotline is the number the port dials when the phone goes off hook
	// (after HotlineDelay seconds without a key: a warm line).
	Hotline string `xml:"hotline,omitempty"`
	// HotlineDelay is the warm line's wait in seconds, 0..60; 0 makes
	// Hotline a hot line.
	HotlineDelay int `xml:"hotline-delay,omitempty"`
	// Extension is the local number other ports dial to reach this one;
	// empty means the port is reached only through its account.
	Extension string `xml:"extension,omitempty"`
	// CallerID overrides the country's caller-ID signalling on the port:
	// off, bell202, v23 or dtmf; empty means the country's.
	CallerID string `xml:"caller-id,omitempty"`
	// PSTNTo, on an FXO port, is where calls from the PSTN go: an
	// extension, a number or a sip: URI, or a hunt list of them separated
	// by commas, tried in order (HuntTimeout each, the next at once on a
	// refusal). Empty means two-stage dialing: the port answers, gives a
	// second dial tone and collects the number with the dial plan.
	PSTNTo string `xml:"pstn-to,omitempty"`
	// AnswerRings, on an FXO port, answers the line after that many rings
	// even before the SIP side answers (1..20); empty answers when it does.
	AnswerRings string `xml:"answer-rings,omitempty"`
	// AnswerRule, on an FXO port, is how the port learns that a dialed
	// PSTN number answered: polarity (the line reverses; the default) or
	// immediate (when dialing ends, for lines without answer supervision).
	AnswerRule string `xml:"answer-rule,omitempty"`
	// SilenceTimeout, on an FXO port, ends a call after this many seconds
	// of silence from the line (1..3600); empty never does.
	SilenceTimeout string `xml:"silence-timeout,omitempty"`
	// DialTone, on an FXO port, is detect (wait for the line's dial tone
	// before dialing; the default) or blind (dial after 2 s).
	DialTone string `xml:"dial-tone,omitempty"`
	// PSTNStrip, on an FXO port, is how many leading digits of a number
	// dialed from SIP are removed before the port dials it (0..20);
	// PSTNPrefix is then put in front.
	PSTNStrip  string `xml:"pstn-strip,omitempty"`
	PSTNPrefix string `xml:"pstn-prefix,omitempty"`
	// EchoCanceller is on or off: the line echo canceller on the port's
	// calls; empty means on.
	EchoCanceller string `xml:"echo-canceller,omitempty"`
	// EchoTail is the echo canceller's tail in milliseconds,
	// MinEchoTail..MaxEchoTail; 0 means DefaultEchoTail.
	EchoTail int `xml:"echo-tail,omitempty"`
	// Fax is auto, on or off: auto switches a call to fax and modem
	// pass-through when a fax or modem tone is heard on either side; on
	// makes every call on the port pass-through from the start (a fax
	// line); off never switches (the echo canceller's tone disabler still
	// works). Empty means auto.
	Fax string `xml:"fax,omitempty"`
	// Flash is the hook-flash window, "MIN-MAX" in Go durations
	// ("100ms-800ms"): breaks shorter than MIN are ignored, MAX or longer
	// is a hang-up. Empty means the country's window.
	Flash string `xml:"flash,omitempty"`
	// CallWaiting is "false" to answer a second call during a call with
	// 486 Busy Here; empty or "true" plays the call-waiting tone.
	CallWaiting string `xml:"call-waiting,omitempty"`
	// ThreeWay is "false" to make a flash during a consultation call swap
	// the calls; empty or "true" joins them in a three-way call.
	ThreeWay string `xml:"three-way,omitempty"`
	// ConferenceTransfer is "true" to transfer the two others to each
	// other when the phone hangs up a three-way call; empty or "false"
	// ends both calls.
	ConferenceTransfer string `xml:"conference-transfer,omitempty"`
	// TXGain is the gain in dB on the line's audio towards the network
	// (what the far end hears), RXGain on the network's audio towards the
	// line (what the phone, or the PSTN party of an FXO port, hears):
	// MinGain..MaxGain in steps of 0.5 dB; empty means 0.
	TXGain string `xml:"tx-gain,omitempty"`
	RXGain string `xml:"rx-gain,omitempty"`
	// HuntTimeout, on an FXO port with a hunt list in PSTNTo, is how many
	// seconds each target rings before the next is tried (5..300); empty
	// means 20. The last target rings until the PSTN caller gives up.
	HuntTimeout string `xml:"hunt-timeout,omitempty"`
}

// FlashWindow parses Flash: zero durations when it is empty.
func (p *Port) FlashWindow() (lo, hi time.Duration, err error) {
	if p.Flash == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(p.Flash, "-")
	if ok {
		if lo, err = time.ParseDuration(strings.TrimSpace(a)); err == nil {
			hi, err = time.ParseDuration(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || lo <= 0 || hi <= lo || hi > 5*time.Second {
		return 0, 0, fmt.Errorf("flash %q: want MIN-MAX durations, 0 < MIN < MAX <= 5s (100ms-800ms)", p.Flash)
	}
	return lo, hi, nil
}

// SIP holds user agent wide SIP settings, <sip>.
type SIP struct {
	// UserAgent is sent in User-Agent and Server headers; empty means
	// "Loopstart", without a version.
	UserAgent string `xml:"user-agent,omitempty"`
	// DirectCalls is "true" to accept calls from any address for an
	// account's own user (peer-to-peer setups; the Request-URI user is
	// the dialed number); empty or "false" takes new calls for an account
	// with a registrar only from that registrar. Accounts without a
	// registrar always take direct calls.
	DirectCalls string `xml:"direct-calls,omitempty"`
	// IgnoreStrangers is "true" to leave requests from strangers (neither
	// a registrar nor a direct-call peer) unanswered; empty or "false"
	// answers all of them alike with 404 Not Found.
	IgnoreStrangers string `xml:"ignore-strangers,omitempty"`
	// DNS is the DNS server, host:port (port 53 when left out), that
	// registrar, proxy and STUN names are resolved at; empty means the
	// system's resolver.
	DNS string `xml:"dns,omitempty"`
}

// DirectCallsOn reports whether <direct-calls> is true; s may be nil.
func (s *SIP) DirectCallsOn() bool {
	return s != nil && s.DirectCalls == "true"
}

// IgnoreStrangersOn reports whether <ignore-strangers> is true; s may be nil.
func (s *SIP) IgnoreStrangersOn() bool {
	return s != nil && s.IgnoreStrangers == "true"
}

// Provisioning says where the gateway fetches its configuration, <provisioning>.
type Provisioning struct {
	// URL is a tftp://, http:// or https:// address.
	URL string `xml:"url"`
	// Interval is the resync period in seconds; 0 means
	// DefaultProvisioningInterval.
	Interval int `xml:"interval,omitempty"`
	// AllowDHCP is "false" to ignore the servers a DHCP lease names
	// (options 66/67/150/160/43); empty or "true" uses them when URL is
	// empty. See DHCPAllowed.
	AllowDHCP string `xml:"allow-dhcp,omitempty"`
	// AllowInsecure is "true" to let a DHCP-supplied tftp:// or http://
	// server be used; empty or "false" accepts only https:// from DHCP.
	// A plain URL written in <url> is itself the opt-in, and so is a
	// configuration with no <provisioning> at all (a gateway out of the
	// box takes its first profile from whatever server DHCP names, as
	// commercial ATAs do; that profile's <provisioning> then decides).
	// See InsecureAllowed.
	AllowInsecure string `xml:"allow-insecure,omitempty"`
	// ProfileKey is the pass phrase encrypted profiles are decrypted
	// with; empty means the one in the data directory's profile-key file.
	ProfileKey string `xml:"profile-key,omitempty" config:"secret"`
	// RequireSignature is "true" to refuse a profile that has no valid
	// detached ed25519 signature (<file>.sig) by a trusted firmware
	// signing key; empty or "false" accepts unsigned profiles (a present
	// signature is still checked). See SignatureRequired.
	RequireSignature string `xml:"require-signature,omitempty"`
}

// SignatureRequired reports whether profiles must carry a valid
// signature: when <require-signature> is true; p may be nil.
func (p *Provisioning) SignatureRequired() bool {
	return p != nil && p.RequireSignature == "true"
}

// DHCPAllowed reports whether DHCP-supplied provisioning servers may be
// used: true unless <allow-dhcp> is false; p may be nil.
func (p *Provisioning) DHCPAllowed() bool {
	return p == nil || p.AllowDHCP != "false"
}

// InsecureAllowed reports whether DHCP-supplied plain (tftp://, http://)
// servers may be used: when <allow-insecure> is true, or when there is no
// <provisioning> at all (p nil: zero-touch out of the box).
func (p *Provisioning) InsecureAllowed() bool {
	return p == nil || p.AllowInsecure == "true"
}

// Firmware says where the gateway fetches its firmware, <firmware>.
type Firmware struct {
	// URL is a tftp://, http:// or https:// address of a signed image
	// (firmware/update); $MAC, $MODEL and $VERSION expand. Provisioning
	// installs it when its version differs from the running one.
	URL string `xml:"url"`
	// AllowDowngrade is "true" to let provisioning install an image
	// older than the running firmware (firmware/update.Compare); empty or
	// "false" refuses it. See DowngradeAllowed.
	AllowDowngrade string `xml:"allow-downgrade,omitempty"`
}

// DowngradeAllowed reports whether <allow-downgrade> is true; f may be nil.
func (f *Firmware) DowngradeAllowed() bool {
	return f != nil && f.AllowDowngrade == "true"
}

// ApplyDefaults fills every empty optional field with its documented
// default (see the Default* constants). Values already set are kept.
func (c *Config) ApplyDefaults() {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if a.Expires == 0 {
			a.Expires = DefaultExpires
		}
		if a.Transport == "" {
			a.Transport = DefaultTransport
			if r, err := ParseRegistrar(a.Registrar); err == nil && r.Transport != "" {
				a.Transport = r.Transport
			}
		}
		if a.SRTP == "" {
			a.SRTP = DefaultSRTP
			if a.Transport == "tls" {
				a.SRTP = DefaultSRTPTLS
			}
		}
		if a.Codecs == "" {
			a.Codecs = DefaultCodecs
		}
	}
	for i := range c.Ports {
		if c.Ports[i].Country == "" {
			c.Ports[i].Country = DefaultCountry
		}
	}
	if c.Provisioning != nil && c.Provisioning.Interval == 0 {
		c.Provisioning.Interval = DefaultProvisioningInterval
	}
}

// Default is the built-in configuration used when no file is given: ports
// 1..ports, each with a direct (non-registering) account whose id is the
// port number and whose user is extension 10n (101, 102, ...), the port's
// Extension also 10n, and DefaultDialPlan. Defaults are applied. ports
// should be 1..MaxPorts; a larger value gives a config Validate rejects.
func Default(ports int) *Config {
	c := &Config{}
	for n := 1; n <= ports; n++ {
		id := strconv.Itoa(n)
		ext := strconv.Itoa(100 + n)
		c.Accounts = append(c.Accounts, Account{ID: id, User: ext, DisplayName: "Port " + id})
		c.Ports = append(c.Ports, Port{N: n, Account: id, DialPlan: DefaultDialPlan, Extension: ext})
	}
	c.ApplyDefaults()
	return c
}

// Account returns the account with the given id, or nil (also on a nil
// Config).
func (c *Config) Account(id string) *Account {
	if c == nil {
		return nil
	}
	for i := range c.Accounts {
		if c.Accounts[i].ID == id {
			return &c.Accounts[i]
		}
	}
	return nil
}

// Marshal renders the configuration as canonical, indented XML with an XML
// declaration. The output parses back to an equal Config.
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	out.XMLName = xml.Name{Local: "loopstart"}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
