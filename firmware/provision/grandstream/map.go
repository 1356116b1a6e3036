package grandstream

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// Reasons a known P-value changes nothing.
const (
	whyNetwork   = "the network (address, VLAN, QoS, DNS, IPv6, DHCP options) is the system's, set on the device, not by a profile"
	whyManage    = "management access (web, SSH, telnet, SNMP, TR-069, RADIUS, DDNS) is not set by a profile"
	whyPassword  = "the web password is set at first setup and on the device, never by a profile"
	whyTime      = "the clock follows the system's NTP setup; time zones are not used"
	whyTones     = "tones, ring cadences and line electrics follow the port's <country>"
	whyFirmware  = "firmware comes from the signed image named by <firmware><url>"
	whyProvision = "provisioning tries its fixed file names on the server in <provisioning><url>"
	whyNATIP     = "a fixed public address is not in the configuration model: <stun> finds it"
	whyContact   = "the Contact carries the address STUN or the registrar's received and rport show"
	whySIPTimers = "SIP timers, session timers and header options follow the SIP stack's defaults"
	whyBackupOBP = "a backup outbound proxy is not in the configuration model: an account has one <outbound-proxy>"
	whyPrefer    = "the registrar is always preferred: the backup registrar is used only while the registrar does not answer"
	whyPreferOBP = "a backup outbound proxy is not in the configuration model, so there is no primary to prefer"
	whyOBPRoute  = "the outbound proxy is always a loose route (;lr) on requests outside a dialog; in a dialog the route set decides"
	whyP2312     = "labelled outbound proxy only in the FusionPBX HT814 template, where HT802 and HT813 use P48: unconfirmed, so not applied"
	whyPorts     = "the SIP listen address is the --sip flag; RTP ports are chosen by the media loop"
	whyCodecOpt  = "codec options other than the preference list are fixed (20 ms PCMU/PCMA/G.722)"
	whyDialing   = "dialing ends on # or the dial plan's inter-digit timer"
	whyFeature   = "this calling feature is not in the configuration model"
	whyNotify    = "NOTIFY authentication is decided by the SIP stack, not by a profile"
	whyFax       = "fax follows the port's <fax> (pass-through on detection)"
	whySecurity  = "certificates and trust come from <ca-file> and the system's roots, verified always"
	whyHunting   = "hunting groups and request-URI routing are not in the configuration model"
	whyLog       = "logging goes to the system log"
	whyAccountOn = "an account is on while a port uses it"
	whyReboot    = "automatic reboots are not done; SIP NOTIFY can ask for one"
	whyPhoneOnly = "a phone (GXP) setting the HT80x/HT81x do not have"
	whyVoicemail = "the voicemail number is dialed like any other number"
	whyUndoc     = "not documented for the HT80x/HT81x"
	whyLocale    = "the web pages' language is not set by a profile"
)

// ignoredGroups lists the P-values the FusionPBX HT802 and HT814
// templates write that change nothing, by reason.
var ignoredGroups = map[string][]int{
	whyNetwork: {8, 51, 87, 92, 93, 94, 95, 143, 146, 148, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164,
		165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 189, 190, 474, 475,
		890, 1411, 1415, 1419, 1420, 1421, 1422, 1423, 1424, 1425, 1426, 1564, 5001, 5002, 5003, 5038, 5042,
		5046, 5047, 5050, 5051, 8457, 22105, 22106, 22107, 22108, 22109, 22110, 22111, 22112, 28161, 28162},
	whyManage: {88, 276, 901, 1409, 1650, 1683, 4503, 4504, 4505, 4506, 4507, 4511, 4512, 8220, 8221, 20701,
		20702, 21896, 21897, 21898, 21899, 21900, 21901, 21902, 21903, 21904, 21905, 21906, 21907, 21908, 21909,
		21910, 21911, 21912, 21913, 21914, 21915, 21916, 26015, 26115, 27006, 27010, 28107, 28108, 28109, 28110,
		28111, 28112, 28114, 28115, 28116, 28117, 28120, 28121, 28122, 28123, 28124, 28125, 28126, 28128, 253, 342},
	whyPassword: {2, 196},
	whyTime:     {30, 64, 144, 246},
	whyTones: {205, 247, 248, 249, 283, 833, 834, 853, 854, 855, 856, 857, 863, 864, 865, 869, 870, 871,
		872, 873, 874, 875, 880, 881, 882, 883, 884, 885, 892, 893, 4000, 4001, 4002, 4003, 4004, 4005, 4010,
		4011, 4012, 4013, 4014, 4015, 4016, 4017, 4018, 4019, 4030, 4031, 4032, 4033, 4034, 4035, 4036, 4037,
		4038, 4039, 4040, 4041, 4042, 4234, 4235, 4371, 4372, 4429, 4430, 4661, 4662, 4663, 4664, 4793, 4794,
		20521, 20522, 21925, 21926, 28133, 28134, 28135, 186, 817, 4360, 4361},
	whyFirmware:  {192, 232, 233, 238, 8458, 8459, 285, 286, 6767, 8375},
	whyProvision: {145, 234, 235, 240, 1359, 1414},
	whyNATIP:     {101, 866},
	whyContact:   {4437, 4438},
	whySIPTimers: {29, 31, 63, 81, 103, 109, 135, 137, 138, 197, 198, 243, 258, 260, 261, 262, 263, 264, 265,
		266, 267, 272, 288, 291, 427, 428, 429, 430, 431, 432, 433, 434, 435, 449, 460, 469, 471, 487, 489,
		702, 729, 731, 743, 752, 763, 767, 792, 813, 1406, 2324, 2329, 2330, 2331, 2338, 2339, 2346, 2359,
		2387, 2392, 2395, 2397, 2398, 2399, 2424, 2429, 2430, 2431, 2438, 2439, 2446, 2459, 2487, 2492, 2495,
		2497, 2498, 2499, 4340, 4341, 4363, 4364, 4424, 4425, 4433, 4434, 4825, 4826, 4834, 4835, 4895, 20501,
		20502, 20505, 20506, 26002, 26003, 26058, 26059, 26062, 26102, 26103, 26158, 26159, 26162, 28092,
		132, 133, 831, 832, 4441, 4442, 209, 250, 440, 441, 2363, 2463, 28138, 28139},
	whyBackupOBP: {2333, 2433},
	whyPrefer:    {4567, 4568},
	whyPreferOBP: {28096, 28097},
	whyOBPRoute:  {4562, 4563},
	whyP2312:     {2312},
	whyPorts:     {39, 40, 739, 740},
	whyCodecOpt:  {37, 49, 50, 96, 97, 704, 705, 737, 749, 750, 2385, 2485, 20529, 79, 779},
	whyDialing:   {66, 72, 85, 292, 766, 772, 28147},
	whyFeature:   {1347, 65, 129, 139, 185, 277, 446, 470, 714, 765, 816, 823, 2318, 2418, 4420, 4421, 20525, 20526, 28127, 28153},
	whyNotify:    {4428},
	whyFax:       {228, 710, 4416, 4417},
	whySecurity:  {231, 281, 867, 868, 896, 897, 898, 2311, 2367, 2386, 2411, 2467, 2486, 8472, 8463, 22030},
	whyHunting:   {4300, 4301, 4302, 4303, 4669, 4670, 4671, 4672},
	whyLog:       {207, 208, 1387},
	whyReboot:    {21929, 21930, 21931, 28118},
	whyPhoneOnly: {270, 290},
	whyVoicemail: {33},
	whyUndoc:     {298, 2301, 2302, 2303},
	whyLocale:    {1362},
}

// ignored maps each P-value of ignoredGroups to its reason.
var ignored = func() map[int]string {
	m := map[int]string{}
	for why, ps := range ignoredGroups {
		for _, p := range ps {
			if old, dup := m[p]; dup {
				panic(fmt.Sprintf("grandstream: P%d is in two ignored groups (%q, %q)", p, old, why))
			}
			m[p] = why
		}
	}
	return m
}()

// inBlocks reports a P-value of an HT802 port or HT81x profile block.
func inBlocks(p int) bool {
	for _, b := range blocks {
		if slices.Contains(b.params(), p) {
			return true
		}
	}
	return false
}

// Map returns every P-value this package knows, each with the native
// path it sets (relative to the account or port it belongs to) or
// "ignored: reason", sorted by number.
func Map() []vendor.Mapping {
	type row struct {
		p      int
		target string
	}
	var rows []row
	for i, b := range blocks {
		where := fmt.Sprintf(" (HT802 port %d, HT81x profile %d)", i+1, i+1)
		add := func(p int, t string) { rows = append(rows, row{p, t + where}) }
		add(b.active, vendor.IgnoredPrefix+whyAccountOn)
		add(b.server, "account/registrar")
		add(b.user, "account/user")
		add(b.authUser, "account/auth-user")
		add(b.password, "account/password")
		add(b.name, "account/display-name")
		add(b.transport, "account/transport")
		add(b.expires, "account/expires")
		add(b.srtp, "account/srtp")
		for _, p := range b.codecs {
			add(p, "account/codecs")
		}
		for j, p := range b.dtmf {
			if j == 0 {
				add(p, "port/dtmf")
			} else {
				add(p, vendor.IgnoredPrefix+"only the first DTMF priority decides")
			}
		}
		add(b.dialPlan, "port/dial-plan")
		add(b.mwi, "account/mwi-subscribe")
		add(b.features, "port/local-features")
		add(b.flashEvent, "port/flash-relay")
		add(b.flashDTMF, "port/flash-relay")
		add(b.noCW, "port/call-waiting")
		add(b.flashMin, "port/flash")
		add(b.flashMax, "port/flash")
		add(b.hotline, "port/hotline")
		add(b.hotlineDelay, "port/hotline-delay")
		add(b.confTransfer, "port/conference-transfer")
		add(b.noThreeWay, "port/three-way")
		add(b.noEC, "port/echo-canceller")
		add(b.outboundProxy, "account/outbound-proxy")
		add(b.failover, "account/backup-registrar")
		add(b.nat, "account/keep-alive, account/stun")
	}
	for i := range maxPerPort {
		where := " (HT81x port " + strconv.Itoa(i+1) + ")"
		rows = append(rows,
			row{ppUser + i, "account/user" + where},
			row{ppAuthUser + i, "account/auth-user" + where},
			row{ppPassword + i, "account/password" + where},
			row{ppName + i, "account/display-name" + where},
			row{ppProfile + i, vendor.IgnoredPrefix + "chooses the profile the port's other values come from" + where},
			row{ppHotline + i, "port/hotline" + where},
			row{ppEnable + i, vendor.IgnoredPrefix + "a port that is off keeps its current values" + where},
		)
	}
	rows = append(rows,
		row{pUpgradeProto, "provisioning/url (scheme)"},
		row{pConfigPath, "provisioning/url"},
		row{pHTTPUser, "provisioning/url (user)"},
		row{pHTTPPass, "provisioning/url (password)"},
		row{pAutoCheck, "provisioning/interval"},
		row{pCheckMinutes, "provisioning/interval"},
		row{pSTUN, "account/stun (each account whose NAT traversal is STUN)"},
		row{pKeepAlive, "account/keep-alive (each account sending keep-alives)"},
	)
	for p, why := range ignored {
		rows = append(rows, row{p, vendor.IgnoredPrefix + why})
	}
	slices.SortFunc(rows, func(a, b row) int { return a.p - b.p })
	out := make([]vendor.Mapping, len(rows))
	for i, r := range rows {
		out[i] = vendor.Mapping{Param: pname(r.p), Target: r.target}
	}
	return out
}
